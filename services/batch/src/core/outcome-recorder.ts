import type pg from "pg";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
import type { BatchRecord } from "./types.js";

/** A child's final status, from the feed or from a poll. */
export interface FinalOutcome {
	runId: string;
	/** The batch the run was made for (an item of another batch may share it as a cached item). */
	batchId: string;
	/** The run's index in that batch (from the feed); where its own item is or will be. */
	batchIndex: number;
	status: string;
}

/** What recording outcomes changed. */
export interface RecordedOutcomes {
	/** Batches whose counts moved. */
	touched: string[];
	/** Batches this call moved to COMPLETED (exactly once each). */
	completed: BatchRecord[];
}

/**
 * Marks the items of these runs final and moves their batches' counts, inside
 * the caller's transaction. The batch rows are locked first: ingestion locks the
 * same row before inserting items and claiming early outcomes, so an outcome is
 * either matched here or stored for that insert to claim — never lost between the two.
 */
export async function recordOutcomes(
	client: pg.PoolClient,
	outcomes: FinalOutcome[],
	options: { now: Date; keepUnmatched: boolean },
): Promise<RecordedOutcomes> {
	if (outcomes.length === 0) return { touched: [], completed: [] };
	const batchIds = [...new Set(outcomes.map((o) => o.batchId))].sort();
	await client.query("SELECT id FROM batches WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE", [batchIds]);
	const matched = await client.query<{ batch_id: string; run_id: string; status: string }>(
		`UPDATE batch_items i SET final = true, status = o.status
		FROM unnest($1::text[], $2::text[]) AS o(run_id, status)
		WHERE i.run_id = o.run_id AND NOT i.final
		RETURNING i.batch_id, i.run_id, i.status`,
		[outcomes.map((o) => o.runId), outcomes.map((o) => o.status)],
	);
	if (options.keepUnmatched) {
		const seen = new Set(matched.rows.map((r) => r.run_id));
		const early = outcomes.filter((o) => !seen.has(o.runId));
		if (early.length > 0) {
			// Only for runs whose own item is not recorded yet (an outcome read again is not
			// early) and of batches this service holds (a batch row exists before its children).
			await client.query(
				`INSERT INTO early_outcomes (run_id, batch_id, status, recorded_at)
				SELECT o.run_id, o.batch_id, o.status, $5
				FROM unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS o(run_id, batch_id, batch_index, status)
				WHERE NOT EXISTS (SELECT 1 FROM batch_items i WHERE i.batch_id = o.batch_id AND i.item_index = o.batch_index)
					AND EXISTS (SELECT 1 FROM batches b WHERE b.id = o.batch_id)
				ON CONFLICT (run_id) DO NOTHING`,
				[
					early.map((o) => o.runId),
					early.map((o) => o.batchId),
					early.map((o) => o.batchIndex),
					early.map((o) => o.status),
					options.now,
				],
			);
		}
	}
	const counted = await addFinalCounts(client, matched.rows, options.now);
	return counted;
}

/** Adds newly final items to their batches' counts, then completes the batches that are done. */
export async function addFinalCounts(
	client: pg.PoolClient,
	finals: { batch_id: string; status: string }[],
	now: Date,
): Promise<RecordedOutcomes> {
	if (finals.length === 0) return { touched: [], completed: [] };
	const perBatch = new Map<string, { final: number; completed: number }>();
	for (const row of finals) {
		const counts = perBatch.get(row.batch_id) ?? { final: 0, completed: 0 };
		counts.final++;
		if (row.status === "COMPLETED") counts.completed++;
		perBatch.set(row.batch_id, counts);
	}
	const ids = [...perBatch.keys()];
	await client.query(
		`UPDATE batches b SET final_item_count = final_item_count + d.f,
			completed_item_count = completed_item_count + d.c,
			failed_item_count = failed_item_count + d.f - d.c
		FROM unnest($1::text[], $2::int[], $3::int[]) AS d(id, f, c) WHERE b.id = d.id`,
		[ids, ids.map((id) => perBatch.get(id)?.final ?? 0), ids.map((id) => perBatch.get(id)?.completed ?? 0)],
	);
	return { touched: ids, completed: await completeIfDone(client, ids, now) };
}

/**
 * Completes each of these batches that is sealed with every item final. The
 * guarded update (status PROCESSING and final = expected) is what makes
 * completion happen once, whoever gets there first.
 */
export async function completeIfDone(
	client: pg.PoolClient,
	ids: string[],
	now: Date,
): Promise<BatchRecord[]> {
	const { rows } = await client.query<BatchRow>(
		`UPDATE batches SET status = 'COMPLETED', completed_at = $2
		WHERE id = ANY($1::text[]) AND status = 'PROCESSING' AND final_item_count = expected_item_count
		RETURNING ${BATCH_COLUMNS}`,
		[ids, now],
	);
	return rows.map(batchFromRow);
}
