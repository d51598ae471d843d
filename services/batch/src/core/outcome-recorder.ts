import type pg from "pg";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
import type { BatchRecord } from "./types.js";

/** A pool (each call its own transaction) or a client inside the caller's transaction. */
type Queryable = Pick<pg.Pool, "query">;

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

/** What the counting functions return: a counted batch, and its columns when this call completed it. */
type CountedRow = { touched_id: string } & (BatchRow | { [K in keyof BatchRow]: null });

// The completed batch's columns, read out of the functions' `completed` (a batches row or NULL).
const COMPLETED_COLUMNS = BATCH_COLUMNS.split(",")
	.map((column) => `(r.completed).${column.trim()}`)
	.join(", ");

function recordedFrom(rows: CountedRow[]): RecordedOutcomes {
	const completed: BatchRecord[] = [];
	for (const row of rows) if (row.id !== null) completed.push(batchFromRow(row));
	return { touched: rows.map((r) => r.touched_id), completed };
}

/**
 * Marks the items of these runs final and moves their batches' counts, in one
 * statement (record_outcomes, migration 002: the batch rows are locked before
 * the items, as ingestion locks them, so an outcome is either matched or kept for
 * its item's insert to claim). With `feedCursor`, the completions feed's cursor
 * moves to it in the same statement, never back.
 */
export async function recordOutcomes(
	client: Queryable,
	outcomes: FinalOutcome[],
	options: { now: Date; keepUnmatched: boolean; feedCursor?: bigint },
): Promise<RecordedOutcomes> {
	if (outcomes.length === 0 && options.feedCursor === undefined) return { touched: [], completed: [] };
	const { rows } = await client.query<CountedRow>({
		// Named: each pooled connection plans it once; the feed runs it for every page.
		name: "batch-record-outcomes",
		text: `SELECT r.touched_id, ${COMPLETED_COLUMNS}
			FROM record_outcomes($1::text[], $2::text[], $3::int[], $4::text[], $5, $6, $7) r`,
		values: [
			outcomes.map((o) => o.runId),
			outcomes.map((o) => o.batchId),
			outcomes.map((o) => o.batchIndex),
			outcomes.map((o) => o.status),
			options.now,
			options.keepUnmatched,
			options.feedCursor?.toString() ?? null,
		],
	});
	return recordedFrom(rows);
}

/** Adds newly final items to their batches' counts, then completes the batches that are done. */
export async function addFinalCounts(
	client: Queryable,
	finals: { batch_id: string; status: string }[],
	now: Date,
): Promise<RecordedOutcomes> {
	if (finals.length === 0) return { touched: [], completed: [] };
	const { rows } = await client.query<CountedRow>(
		`SELECT r.touched_id, ${COMPLETED_COLUMNS} FROM add_final_counts($1::text[], $2::text[], $3) r`,
		[finals.map((f) => f.batch_id), finals.map((f) => f.status), now],
	);
	return recordedFrom(rows);
}

/**
 * Completes each of these batches that is sealed with every item final
 * (complete_if_done: a guarded update, so completion happens once, whoever gets
 * there first).
 */
export async function completeIfDone(client: Queryable, ids: string[], now: Date): Promise<BatchRecord[]> {
	const { rows } = await client.query<BatchRow>(
		`SELECT ${BATCH_COLUMNS} FROM complete_if_done($1::text[], $2)`,
		[ids, now],
	);
	return rows.map(batchFromRow);
}
