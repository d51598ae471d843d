import type pg from "pg";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
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
