import type pg from "pg";
import { type StoredWaitResult, type WaitRow, waitFromRow } from "./run-rows.js";
import type { WaitRecord } from "./run-types.js";
import type { SchedulerLimits } from "./scheduler-context.js";

/**
 * The resolved waits of an attempt with an upper bound of their results' encoded
 * size, computed in PostgreSQL so results that will not travel are never read out.
 * Outputs are stored base64 (3 bytes per 4 characters); errors as JSON text, which
 * is longer than their protobuf form; 32 bytes cover each result's tags, status
 * and length prefixes.
 */
const HEADS_SQL = `
SELECT id, run_id, attempt_id, status, resolved_at, error, batch_id, child_run_id,
	coalesce((
		SELECT sum((octet_length(coalesce(r->>'output', '')) * 3 + 3) / 4
			+ octet_length(coalesce(r->>'runId', '')) + octet_length(coalesce(r->>'outputType', ''))
			+ octet_length(coalesce(r->'error', 'null'::jsonb)::text) + 32)
		FROM jsonb_array_elements(coalesce(results, '[]'::jsonb)) r
	), 0)::bigint AS results_bytes
FROM waits WHERE attempt_id = $1 AND status = 'RESOLVED' ORDER BY ordinal`;

type HeadRow = Omit<WaitRow, "results"> & { results_bytes: string };

/**
 * Results, measured as HEADS_SQL measures them once stored, so that what ResolveWait
 * lets in is exactly what a StartAttempt answer can carry.
 */
export function storedResultsBytes(results: StoredWaitResult[]): number {
	let bytes = 0;
	for (const r of results) {
		bytes += Math.floor(((r.output?.length ?? 0) * 3 + 3) / 4);
		bytes += Buffer.byteLength(r.runId) + Buffer.byteLength(r.outputType);
		bytes += Buffer.byteLength(JSON.stringify(r.error)) + 32;
	}
	return bytes;
}

/**
 * Most bytes of results one wait may hold. The newest resolved wait always travels
 * inline and older ones only while all fit in resolvedWaitsInlineBytes, so an answer
 * carries at most the payload plus this; the configuration already keeps payload,
 * output and inline budget together within one gRPC message.
 */
export function resolvedWaitMaxBytes(limits: SchedulerLimits): number {
	return limits.maxOutputBytes + limits.resolvedWaitsInlineBytes;
}

/**
 * The resolved waits of an attempt, oldest first, for a resumed StartAttempt. The
 * answer is one gRPC message, and task outputs can each be megabytes: results are
 * carried inline newest-first while their total stays within `inlineBudgetBytes`;
 * the newest wait always carries its own (it is what the task resumes with; one
 * output is capped by SCHEDULER_MAX_OUTPUT_BYTES, and a ResolveWait's results by
 * resolvedWaitMaxBytes). From the first wait that
 * does not fit, older waits with results come with none and `resultsElided`, and
 * the worker reads them from GetRuns or ListBatchItems.
 */
export async function readResolvedWaits(
	client: pg.PoolClient | pg.Pool,
	attemptId: string,
	inlineBudgetBytes: number,
): Promise<WaitRecord[]> {
	// Named, so each pooled connection prepares it once: every resumed start runs it.
	const { rows: heads } = await client.query<HeadRow>({
		name: "scheduler-resolved-wait-heads",
		text: HEADS_SQL,
		values: [attemptId],
	});
	const inline = new Set<string>();
	const elided = new Set<string>();
	let total = 0;
	let over = false;
	for (let i = heads.length - 1; i >= 0; i--) {
		const head = heads[i] as HeadRow;
		const bytes = Number(head.results_bytes);
		if (bytes === 0) continue;
		if (!over && (i === heads.length - 1 || total + bytes <= inlineBudgetBytes)) {
			inline.add(head.id);
			total += bytes;
		} else {
			over = true;
			elided.add(head.id);
		}
	}
	const results = new Map<string, WaitRow["results"]>();
	if (inline.size > 0) {
		const { rows } = await client.query<Pick<WaitRow, "id" | "results">>({
			name: "scheduler-resolved-wait-results",
			text: "SELECT id, results FROM waits WHERE id = ANY($1)",
			values: [[...inline]],
		});
		for (const row of rows) results.set(row.id, row.results);
	}
	return heads.map((head) => ({
		...waitFromRow({ ...head, results: results.get(head.id) ?? null }),
		resultsElided: elided.has(head.id),
	}));
}
