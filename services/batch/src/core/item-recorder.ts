import type pg from "pg";
import { COPY_MIN_ROWS, CopyWriter, copyEncoded, copyOrConflict } from "../../../kit/src/index.js";
import { ITEM_COLUMNS } from "./batch-rows.js";
import { addFinalCounts, completeIfDone } from "./outcome-recorder.js";
import { type BatchRecord, type CreatedChild, FINAL_RUN_STATUSES, type ItemRecord } from "./types.js";

/** Items to record for one batch: the children the scheduler created for them. */
export interface ItemsToRecord {
	batchId: string;
	children: { child: CreatedChild; taskId: string }[];
	now: Date;
}

/**
 * Records created children as items of their batch in the caller's transaction:
 * inserts them (an index already there is left alone), claims outcomes that
 * reached the feed first, moves the counts, and seals the batch when its last
 * item now exists. Returns the batches completed by this call.
 */
export async function recordItems(client: pg.PoolClient, input: ItemsToRecord): Promise<BatchRecord[]> {
	const { batchId, now } = input;
	// Taken first, like the completion tracker does, so the two never miss each other.
	// It is also what keeps items to existing batches (batch_items has no foreign key:
	// migration 004).
	const batch = await client.query("SELECT id FROM batches WHERE id = $1 FOR UPDATE", [batchId]);
	if (batch.rowCount === 0) throw new Error(`batch "${batchId}" does not exist; its items were not recorded`);
	const rows: ItemRow[] = input.children.map(({ child, taskId }) => ({
		index: child.index,
		runId: child.runId,
		taskId,
		status: child.status,
		final: FINAL_RUN_STATUSES.has(child.status),
		// A run returned for this very batch and index is the same item again, not a cache hit.
		cached: child.cached && !(child.runBatchId === batchId && child.runBatchIndex === child.index),
	}));
	const inserted =
		rows.length >= COPY_MIN_ROWS && (await copyItems(client, batchId, rows))
			? rows
			: await insertItems(client, batchId, rows);
	if (inserted.length === 0) return [];
	const open = inserted.filter((r) => !r.final);
	// Early outcomes are of this batch's own children; each is claimed by its item's
	// key (the index the item was just inserted at), not through an index on run ids.
	// Most batches have none, and sending every open item's run id and index (two
	// arrays of up to a chunk's size, which PostgreSQL parses) cost about 1 µs per
	// item, so they are sent only when the batch has early outcomes at all. Looked up
	// under the batch row's lock, which the completion tracker takes before it stores
	// an early outcome (record_outcomes), so none can appear before this commits.
	const claimed =
		open.length === 0 || !(await hasEarlyOutcomes(client, batchId))
			? { rows: [] }
			: await client.query<{ status: string }>(
					`WITH early AS (
						DELETE FROM early_outcomes WHERE batch_id = $1 AND run_id = ANY($2::text[]) RETURNING run_id, status
					)
					UPDATE batch_items i SET final = true, status = early.status
					FROM early JOIN unnest($2::text[], $3::int[]) AS mine(run_id, item_index) ON mine.run_id = early.run_id
					WHERE i.batch_id = $1 AND i.item_index = mine.item_index AND NOT i.final
					RETURNING i.status`,
					[batchId, open.map((r) => r.runId), open.map((r) => r.index)],
				);
	await client.query(
		`UPDATE batches SET created_item_count = created_item_count + $2,
			sealed = sealed OR (status = 'PENDING' AND created_item_count + $2 = expected_item_count),
			sealed_at = CASE WHEN status = 'PENDING' AND created_item_count + $2 = expected_item_count THEN $3 ELSE sealed_at END,
			status = CASE WHEN status = 'PENDING' AND created_item_count + $2 = expected_item_count THEN 'PROCESSING' ELSE status END
		WHERE id = $1`,
		[batchId, inserted.length, now],
	);
	const finals = [
		...inserted.filter((r) => r.final).map((r) => ({ batch_id: batchId, status: r.status })),
		...claimed.rows.map((r) => ({ batch_id: batchId, status: r.status })),
	];
	const counted = await addFinalCounts(client, finals, now);
	// Sealing with every item already final completes here; addFinalCounts only checks batches it counted.
	return counted.completed.length > 0 ? counted.completed : completeIfDone(client, [batchId], now);
}

async function hasEarlyOutcomes(client: pg.PoolClient, batchId: string): Promise<boolean> {
	const found = await client.query("SELECT 1 FROM early_outcomes WHERE batch_id = $1 LIMIT 1", [batchId]);
	return (found.rowCount ?? 0) > 0;
}

/** An item as recordItems stores it (all of one batch). */
type ItemRow = Omit<ItemRecord, "batchId">;

/**
 * Every item by binary COPY in a savepoint: true when they all went in, false
 * (nothing written) when one was already stored, for insertItems to sort out.
 */
function copyItems(client: pg.PoolClient, batchId: string, rows: ItemRow[]): Promise<boolean> {
	return copyOrConflict(client, "record_items", () => {
		const w = new CopyWriter(rows.length * (64 + batchId.length));
		for (const r of rows) {
			w.row(ITEM_COLUMNS.length).text(batchId).int4(r.index).text(r.runId).text(r.taskId);
			w.text(r.status).bool(r.final).bool(r.cached);
		}
		return copyEncoded(client, "batch_items", ITEM_COLUMNS, w);
	});
}

/**
 * The items whose index is not stored yet, skipping the others (a retried chunk,
 * or ingestion resumed after a restart); returns the rows that went in. One row
 * comes back, not one per item: how many went in, and which only when some did not.
 */
async function insertItems(client: pg.PoolClient, batchId: string, rows: ItemRow[]): Promise<ItemRow[]> {
	const { rows: insertion } = await client.query<{ n: number; indexes: number[] | null }>(
		`WITH ins AS (
			INSERT INTO batch_items (${ITEM_COLUMNS.join(", ")})
			SELECT $1, * FROM unnest($2::int[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::bool[])
			ON CONFLICT (batch_id, item_index) DO NOTHING
			RETURNING item_index
		)
		SELECT count(*)::int AS n, CASE WHEN count(*) < $8 THEN array_agg(item_index) END AS indexes FROM ins`,
		[
			batchId,
			rows.map((r) => r.index),
			rows.map((r) => r.runId),
			rows.map((r) => r.taskId),
			rows.map((r) => r.status),
			rows.map((r) => r.final),
			rows.map((r) => r.cached),
			rows.length,
		],
	);
	if ((insertion[0]?.n ?? 0) === 0) return [];
	const some = insertion[0]?.indexes;
	if (some === null || some === undefined) return rows;
	// Each stored index once, should a chunk name one twice.
	const storedNow = new Set(some);
	return rows.filter((r) => storedNow.delete(r.index));
}
