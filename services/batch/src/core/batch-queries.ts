import type pg from "pg";
import { BATCH_COLUMNS, type BatchRow, batchFromRow, ITEM_COLUMNS, type ItemRow } from "./batch-rows.js";
import type { BatchRecord } from "./types.js";

/** One batch of an environment, or undefined. */
export async function findBatch(
	db: pg.Pool | pg.PoolClient,
	environmentId: string,
	batchId: string,
): Promise<BatchRecord | undefined> {
	const { rows } = await db.query<BatchRow>(
		`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1 AND environment_id = $2`,
		[batchId, environmentId],
	);
	return rows[0] === undefined ? undefined : batchFromRow(rows[0]);
}

/**
 * Fails a batch that is not final yet, with a reason and a code, and releases its
 * idempotency key so a retried create starts a new batch. Returns the batch when
 * this call made the change.
 */
export async function failBatch(
	db: pg.Pool | pg.PoolClient,
	batchId: string,
	failure: { code: string; reason: string; now: Date },
): Promise<BatchRecord | undefined> {
	const { rows } = await db.query<BatchRow>(
		`UPDATE batches SET status = 'FAILED', failure_code = $2, failure_reason = $3, completed_at = $4,
			idempotency_key = NULL
		WHERE id = $1 AND status IN ('PENDING', 'PROCESSING')
		RETURNING ${BATCH_COLUMNS}`,
		[batchId, failure.code, failure.reason, failure.now],
	);
	return rows[0] === undefined ? undefined : batchFromRow(rows[0]);
}

const ITEM_PAGE_COLUMNS = ITEM_COLUMNS.join(", ");

/**
 * Up to `count` items of a batch from `fromIndex` on, in index order.
 *
 * A batch's indexes are dense once its items are in, so the page is first read as the
 * range of `count` indexes: an index scan of exactly those rows whatever the planner
 * believes. Asked with only a lower bound and a LIMIT, a planner whose statistics make
 * the batch small (a fresh bulk load, or most batches being small) reads every item
 * from `fromIndex` to the batch's end and sorts them for each page, which makes reading
 * a large batch back quadratic. Only when the range is short (the batch's end, or
 * items still arriving out of order) is the LIMIT form asked, to skip the gaps.
 */
export async function itemsFrom(
	db: pg.Pool | pg.PoolClient,
	batchId: string,
	fromIndex: number,
	count: number,
): Promise<ItemRow[]> {
	const range = await db.query<ItemRow>(
		`SELECT ${ITEM_PAGE_COLUMNS} FROM batch_items
		WHERE batch_id = $1 AND item_index >= $2 AND item_index < $3::bigint ORDER BY item_index`,
		[batchId, fromIndex, fromIndex + count],
	);
	if (range.rows.length === count) return range.rows;
	const { rows } = await db.query<ItemRow>(
		`SELECT ${ITEM_PAGE_COLUMNS} FROM batch_items
		WHERE batch_id = $1 AND item_index >= $2 ORDER BY item_index LIMIT $3`,
		[batchId, fromIndex, count],
	);
	return rows;
}
