import { ServiceError } from "../../../kit/src/index.js";
import type { BatchContext } from "./batch-context.js";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
import type { BatchRecord, ChildError, ChildResult } from "./types.js";

const RESULT_PAGE = 1_000;

/** The error code of a completed batch whose results are read from ListBatchItems instead. */
export const BATCH_RESULTS_TOO_LARGE = "BATCH_RESULTS_TOO_LARGE";

/**
 * Resumes the parent waiting on a final batch: with every child's result in
 * item order when it COMPLETED, or with the batch's failure as the error. The
 * transition to final happened once in PostgreSQL; ResolveWait is idempotent at
 * the scheduler, so a resolve repeated after a crash (by the sweep) resumes the
 * parent no second time. wait_resolved_at records that it is done.
 */
export class WaitResolver {
	readonly #ctx: BatchContext;
	readonly #busy = new Set<string>();

	constructor(ctx: BatchContext) {
		this.#ctx = ctx;
	}

	/** Resolves these batches' waits in the background; failures are left to the sweep. */
	resolveSoon(batches: BatchRecord[]): void {
		for (const batch of batches) {
			if (batch.waitId === "") continue;
			void this.resolve(batch).catch((error: unknown) => {
				this.#ctx.logger.warn(
					{ err: error, batchId: batch.id },
					"resolving the parent's wait failed; the sweep retries",
				);
			});
		}
	}

	/** Finds final batches whose parent is not resumed yet and resumes them. */
	async sweep(limit = 20): Promise<number> {
		const { rows } = await this.#ctx.pool.query<BatchRow>(
			`SELECT ${BATCH_COLUMNS} FROM batches
			WHERE wait_id IS NOT NULL AND wait_resolved_at IS NULL AND status IN ('COMPLETED', 'FAILED')
			ORDER BY completed_at LIMIT $1`,
			[limit],
		);
		for (const row of rows) await this.resolve(batchFromRow(row));
		return rows.length;
	}

	/** Resumes one final batch's parent (no-op while another call is doing it here). */
	async resolve(batch: BatchRecord): Promise<void> {
		if (batch.waitId === "" || this.#busy.has(batch.id)) return;
		this.#busy.add(batch.id);
		try {
			const { children, pool, clock, logger } = this.#ctx;
			if (batch.status === "COMPLETED") {
				await this.#resolveCompleted(batch);
			} else if (batch.status === "FAILED") {
				await children.resolveWait(batch.waitId, {
					error: {
						name: "BatchFailedError",
						message: `batch ${batch.id} failed: ${batch.failureReason}`,
						code: batch.failureCode || "BATCH_FAILED",
						stackTrace: "",
						retryable: false,
					},
				});
			} else {
				return;
			}
			await pool.query(
				"UPDATE batches SET wait_resolved_at = $2 WHERE id = $1 AND wait_resolved_at IS NULL",
				[batch.id, clock.now()],
			);
			logger.info({ batchId: batch.id, waitId: batch.waitId, status: batch.status }, "parent wait resolved");
		} finally {
			this.#busy.delete(batch.id);
		}
	}

	/**
	 * Resumes the parent of a COMPLETED batch. The scheduler refuses results its
	 * resume could not carry (its own output and inline limits, which this service's
	 * configuration cannot see); the parent then gets the same error as results over
	 * resumeResultsMaxBytes, so a mismatch of the two services' settings can never
	 * leave it waiting on a resolve that always fails.
	 */
	async #resolveCompleted(batch: BatchRecord): Promise<void> {
		const outcome = await this.#completedOutcome(batch);
		try {
			await this.#ctx.children.resolveWait(batch.waitId, outcome);
		} catch (error) {
			if (!("results" in outcome) || !(error instanceof ServiceError) || error.code !== "RESOURCE_EXHAUSTED")
				throw error;
			this.#ctx.logger.warn(
				{ batchId: batch.id, reason: error.message },
				"the scheduler refused the batch's results; the parent reads them from ListBatchItems",
			);
			const { results } = outcome;
			await this.#ctx.children.resolveWait(batch.waitId, {
				error: resultsTooLarge(
					`the results of batch ${batch.id} (${results.length} items) are more than the scheduler lets one resume carry (${error.message}); read them with ListBatchItems`,
				),
			});
		}
	}

	/**
	 * Every child's result in item order, or, when their outputs and errors pass
	 * resumeResultsMaxBytes, an error saying so: the resume (ResolveWait, then the
	 * parent's StartAttempt) is one gRPC message each, and a batch whose results
	 * cannot fit must not leave its parent waiting forever on a resolve that always
	 * fails. The SDK answers that error by reading the results page by page from
	 * ListBatchItems, so batchTriggerAndWait still returns them all.
	 */
	async #completedOutcome(batch: BatchRecord): Promise<{ results: ChildResult[] } | { error: ChildError }> {
		const results = await this.#results(batch);
		const limit = this.#ctx.limits.resumeResultsMaxBytes;
		let bytes = 0;
		for (const r of results) {
			bytes += r.runId.length + r.output.byteLength + r.outputType.length;
			if (r.error !== undefined)
				bytes += r.error.message.length + r.error.stackTrace.length + r.error.code.length;
		}
		if (bytes <= limit) return { results };
		return {
			error: resultsTooLarge(
				`the results of batch ${batch.id} (${results.length} items, ${bytes} bytes) are over the ${limit} bytes a resume carries (BATCH_RESUME_RESULTS_MAX_BYTES); read them with ListBatchItems`,
			),
		};
	}

	/** Every child's result, in item order, read from the scheduler. */
	async #results(batch: BatchRecord): Promise<ChildResult[]> {
		const results: ChildResult[] = [];
		for (let from = 0; from < batch.expectedItemCount; from += RESULT_PAGE) {
			const { rows } = await this.#ctx.pool.query<{ run_id: string }>(
				`SELECT run_id FROM batch_items WHERE batch_id = $1 AND item_index >= $2 AND item_index < $3
				ORDER BY item_index`,
				[batch.id, from, from + RESULT_PAGE],
			);
			results.push(
				...(await this.#ctx.children.getChildren(
					batch.environmentId,
					rows.map((r) => r.run_id),
				)),
			);
		}
		return results;
	}
}

/** The error a parent resumes with when its batch's results travel through ListBatchItems instead. */
function resultsTooLarge(message: string): ChildError {
	return {
		name: "BatchResultsTooLargeError",
		message,
		code: BATCH_RESULTS_TOO_LARGE,
		stackTrace: "",
		retryable: false,
	};
}
