import { inTransaction } from "../../../kit/src/postgres/transaction.js";
import type { BatchContext } from "./batch-context.js";
import { failBatch } from "./batch-queries.js";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
import { newBatchId } from "./ids.js";
import type { BatchRecord, ProcessingStrategy } from "./types.js";

/** What a new batch is made of (already validated by the adapter). */
export interface NewBatch {
	environmentId: string;
	expectedItemCount: number;
	strategy: ProcessingStrategy;
	idempotencyKey: string;
	idempotencyKeyTtlMs: number | undefined;
	sealTimeoutMs: number | undefined;
	parent: { runId: string; attemptId: string; wait: boolean } | undefined;
	/** A digest of the inline items (undefined for a streamed batch), to know a retry of the same create. */
	inlineItemsDigest: string | undefined;
}

/** A created batch, or the first one for a live key. */
export interface CreatedBatch {
	batch: BatchRecord;
	cached: boolean;
	/** For a cached batch: it was made inline from the very items this call sends. */
	sameInlineItems: boolean;
}

/**
 * Creates batch records. A live idempotency key returns the first batch of the
 * environment with that key, whatever its size or state; an expired key is
 * released first. A parent that waits begins its wait here, before any item
 * exists, so no child can finish before the wait is there to be resolved.
 */
export class BatchCreator {
	readonly #ctx: BatchContext;

	constructor(ctx: BatchContext) {
		this.#ctx = ctx;
	}

	/** Creates a batch (PENDING, no items yet) or returns the cached one. */
	async create(input: NewBatch): Promise<CreatedBatch> {
		const created = await this.#insertOrFind(input);
		if (!input.parent?.wait || created.batch.waitId !== "" || isFinal(created.batch)) return created;
		return { ...created, batch: await this.#beginWait(created, input.parent) };
	}

	async #insertOrFind(input: NewBatch): Promise<CreatedBatch> {
		const { pool, clock, limits } = this.#ctx;
		// Two rounds: the second follows the release of an expired key.
		for (let round = 0; round < 2; round++) {
			const now = clock.now();
			const key = input.idempotencyKey === "" ? null : input.idempotencyKey;
			const ttl = input.idempotencyKeyTtlMs ?? limits.defaultIdempotencyKeyTtlMs;
			const sealTimeout = input.sealTimeoutMs ?? limits.defaultSealTimeoutMs;
			const { rows } = await pool.query<BatchRow>(
				`INSERT INTO batches (id, environment_id, status, strategy, expected_item_count, key_shown,
					idempotency_key, idempotency_key_expires_at, parent_run_id, parent_attempt_id, parent_wait,
					created_at, seal_deadline, inline_items_digest)
				VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (environment_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
				RETURNING ${BATCH_COLUMNS}`,
				[
					newBatchId(now),
					input.environmentId,
					input.strategy,
					input.expectedItemCount,
					input.idempotencyKey,
					key,
					key === null ? null : new Date(now.getTime() + ttl),
					input.parent?.runId ?? "",
					input.parent?.attemptId ?? "",
					input.parent?.wait ?? false,
					now,
					new Date(now.getTime() + sealTimeout),
					input.inlineItemsDigest ?? null,
				],
			);
			if (rows[0] !== undefined)
				return { batch: batchFromRow(rows[0]), cached: false, sameInlineItems: false };
			// NULL on either side (a streamed batch, or a retry without items) is not the same items.
			const existing = await pool.query<BatchRow & { live: boolean; same_inline_items: boolean | null }>(
				`SELECT ${BATCH_COLUMNS}, idempotency_key_expires_at > $3 AS live,
					inline_items_digest = $4 AS same_inline_items
				FROM batches WHERE environment_id = $1 AND idempotency_key = $2`,
				[input.environmentId, key, now, input.inlineItemsDigest ?? null],
			);
			const row = existing.rows[0];
			if (row?.live) {
				return { batch: batchFromRow(row), cached: true, sameInlineItems: row.same_inline_items === true };
			}
			if (row !== undefined) {
				await pool.query(
					"UPDATE batches SET idempotency_key = NULL WHERE id = $1 AND idempotency_key_expires_at <= $2",
					[row.id, now],
				);
			}
		}
		throw new Error("batch idempotency key stayed taken after its release");
	}

	/**
	 * Begins the parent's wait under the batch row's lock, so two concurrent
	 * retries of one create never begin two waits for one attempt (the scheduler
	 * would fail the parent for a concurrent wait).
	 */
	async #beginWait(
		created: CreatedBatch,
		parent: { runId: string; attemptId: string },
	): Promise<BatchRecord> {
		const { pool, children, clock, watch } = this.#ctx;
		const outcome = await inTransaction(pool, async (client) => {
			const locked = await client.query<BatchRow>(
				`SELECT ${BATCH_COLUMNS} FROM batches WHERE id = $1 FOR UPDATE`,
				[created.batch.id],
			);
			const current = batchFromRow(locked.rows[0] as BatchRow);
			if (current.waitId !== "" || isFinal(current)) return { batch: current };
			try {
				const waitId = await children.beginWait(parent.runId, parent.attemptId, current.id);
				const { rows } = await client.query<BatchRow>(
					`UPDATE batches SET wait_id = $2 WHERE id = $1 RETURNING ${BATCH_COLUMNS}`,
					[current.id, waitId],
				);
				return { batch: batchFromRow(rows[0] as BatchRow) };
			} catch (error) {
				// A batch whose parent could not wait would run children nobody collects.
				const message = error instanceof Error ? error.message : String(error);
				await failBatch(client, current.id, {
					code: "PARENT_WAIT_REFUSED",
					reason: `the parent run ${parent.runId} could not begin waiting: ${message}`,
					now: clock.now(),
				});
				return { batch: current, error };
			}
		});
		if ("error" in outcome) {
			watch.notify([created.batch.id]);
			throw outcome.error;
		}
		return outcome.batch;
	}
}

function isFinal(batch: BatchRecord): boolean {
	return batch.status === "COMPLETED" || batch.status === "FAILED";
}
