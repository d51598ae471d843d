import type { BatchContext } from "./batch-context.js";
import { BATCH_COLUMNS, type BatchRow, batchFromRow } from "./batch-rows.js";
import { type FinalOutcome, recordOutcomes } from "./outcome-recorder.js";
import type { WaitResolver } from "./wait-resolver.js";

const CACHED_POLL_LIMIT = 200;

/**
 * Periodic upkeep: fails batches not sealed by their deadline (their parents are
 * resumed with that error, never left hanging), polls cached items whose runs
 * the feed may never report (runs made outside any batch), retries parents'
 * resumes that did not go through, and drops early outcomes no item can claim.
 */
export class BatchSweeper {
	readonly #ctx: BatchContext;
	readonly #resolver: WaitResolver;
	readonly #intervalMs: number;
	#timer: NodeJS.Timeout | undefined;
	#running: Promise<void> | undefined;

	constructor(ctx: BatchContext, resolver: WaitResolver, options: { intervalMs: number }) {
		this.#ctx = ctx;
		this.#resolver = resolver;
		this.#intervalMs = options.intervalMs;
	}

	/** Sweeps every interval until closed. */
	start(): void {
		const tick = () => {
			this.#running = this.sweepOnce()
				.catch((error: unknown) => this.#ctx.logger.warn({ err: error }, "batch sweep failed"))
				.finally(() => {
					if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#intervalMs);
				});
		};
		this.#timer = setTimeout(tick, this.#intervalMs);
	}

	/** Stops sweeping and waits for a sweep in progress. */
	async close(): Promise<void> {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		await this.#running;
	}

	/** One pass of every upkeep job. */
	async sweepOnce(): Promise<void> {
		await this.failUnsealed();
		await this.pollCachedItems();
		await this.#resolver.sweep();
		await this.#ctx.pool.query(
			`DELETE FROM early_outcomes e USING batches b
			WHERE b.id = e.batch_id AND b.status IN ('COMPLETED', 'FAILED') AND e.recorded_at < $1`,
			[new Date(this.#ctx.clock.now().getTime() - 3_600_000)],
		);
	}

	/** Fails every PENDING batch past its seal deadline; returns how many. */
	async failUnsealed(): Promise<number> {
		const { pool, clock, watch, logger } = this.#ctx;
		const now = clock.now();
		const { rows } = await pool.query<BatchRow>(
			`UPDATE batches SET status = 'FAILED', failure_code = 'BATCH_NOT_SEALED', completed_at = $1,
				idempotency_key = NULL,
				failure_reason = 'not sealed by its deadline: ' || created_item_count || ' of ' || expected_item_count
					|| ' items were created (seal timeout ' || (extract(epoch FROM seal_deadline - created_at) * 1000)::bigint || ' ms)'
			WHERE status = 'PENDING' AND seal_deadline <= $1
			RETURNING ${BATCH_COLUMNS}`,
			[now],
		);
		const failed = rows.map(batchFromRow);
		for (const batch of failed)
			logger.warn({ batchId: batch.id, reason: batch.failureReason }, "batch failed");
		watch.notify(failed.map((b) => b.id));
		this.#resolver.resolveSoon(failed);
		return failed.length;
	}

	/** Reads the status of open cached items from the scheduler and records the final ones. */
	async pollCachedItems(): Promise<number> {
		const { pool, clock, watch, children } = this.#ctx;
		const { rows } = await pool.query<{
			batch_id: string;
			item_index: number;
			run_id: string;
			environment_id: string;
		}>(
			`SELECT i.batch_id, i.item_index, i.run_id, b.environment_id FROM batch_items i JOIN batches b ON b.id = i.batch_id
			WHERE i.cached AND NOT i.final LIMIT $1`,
			[CACHED_POLL_LIMIT],
		);
		const finals: FinalOutcome[] = [];
		for (const row of rows) {
			const state = await children.getChild(row.environment_id, row.run_id);
			if (state.final)
				finals.push({
					runId: row.run_id,
					batchId: row.batch_id,
					batchIndex: row.item_index,
					status: state.status,
				});
		}
		if (finals.length === 0) return 0;
		const recorded = await recordOutcomes(pool, finals, { now: clock.now(), keepUnmatched: false });
		watch.notify(recorded.touched);
		this.#resolver.resolveSoon(recorded.completed);
		return finals.length;
	}
}
