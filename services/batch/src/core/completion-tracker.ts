import type pg from "pg";
import type { BatchContext } from "./batch-context.js";
import { coalesced } from "./coalesced-groups.js";
import { recordOutcomes } from "./outcome-recorder.js";
import type { ChildOutcome } from "./types.js";
import type { WaitResolver } from "./wait-resolver.js";

/**
 * The feed reader's advisory lock, so one replica reads the feed at a time. It
 * is keyed by the service's schema: advisory locks are database-wide, and
 * separate deployments (or test schemas) in one database must not share a lease.
 */
const FEED_LEASE = "hashtext('taskmesh.batch.feed:' || current_schema())";

/**
 * How far behind its stored cursor a restarted reader starts. The scheduler
 * assigns a cursor when an outcome is inserted, so one committed late can carry
 * a smaller cursor than outcomes already read; re-reading a window catches it.
 */
export const FEED_REPLAY_WINDOW = 1_000n;

/**
 * Outcomes counted in one transaction at most. Outcomes that arrive while one is
 * being counted are counted together in the next, so under load a transaction
 * takes many instead of the feed's pages one by one.
 */
const APPLY_MAX_OUTCOMES = 2_000;

/**
 * Reads the scheduler's completions feed and counts each child's final outcome
 * once. Counting is guarded per item (an item turns final once), so an outcome
 * read twice — a replayed window, a repeated page — never counts twice; the
 * highest cursor is stored in the same transaction as the counts it moved, so a
 * restart neither misses nor double-counts.
 */
export class BatchCompletionTracker {
	readonly #ctx: BatchContext;
	readonly #resolver: WaitResolver;
	readonly #retryMs: number;
	readonly #stop = new AbortController();
	#loop: Promise<void> | undefined;

	constructor(ctx: BatchContext, resolver: WaitResolver, options: { retryMs: number }) {
		this.#ctx = ctx;
		this.#resolver = resolver;
		this.#retryMs = options.retryMs;
	}

	/** Starts reading in the background. */
	start(): void {
		this.#loop ??= this.#run();
	}

	/** Stops reading and releases the lease. */
	async close(): Promise<void> {
		this.#stop.abort();
		await this.#loop;
	}

	/**
	 * Applies one group of outcomes (exported for the restart path and tests): the
	 * counts and the feed's cursor move in one statement, one round trip.
	 */
	async apply(outcomes: ChildOutcome[]): Promise<void> {
		const { pool, clock, watch } = this.#ctx;
		if (outcomes.length === 0) return;
		const last = outcomes.reduce((max, o) => (o.cursor > max ? o.cursor : max), 0n);
		const result = await recordOutcomes(pool, outcomes, {
			now: clock.now(),
			keepUnmatched: true,
			feedCursor: last,
		});
		watch.notify(result.touched);
		this.#resolver.resolveSoon(result.completed);
	}

	async #run(): Promise<void> {
		const signal = this.#stop.signal;
		while (!signal.aborted) {
			let lease: pg.PoolClient | undefined;
			try {
				lease = await this.#takeLease();
				if (lease !== undefined) await this.#follow(signal);
			} catch (error) {
				if (!signal.aborted) this.#ctx.logger.warn({ err: error }, "completions feed broke; reconnecting");
			} finally {
				if (lease !== undefined) {
					await lease.query(`SELECT pg_advisory_unlock(${FEED_LEASE})`).catch(() => {});
					lease.release();
				}
			}
			await pause(this.#retryMs, signal);
		}
	}

	async #takeLease(): Promise<pg.PoolClient | undefined> {
		const client = await this.#ctx.pool.connect();
		const { rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(${FEED_LEASE}) AS ok`);
		if (rows[0]?.ok) return client;
		client.release();
		return undefined;
	}

	async #follow(signal: AbortSignal): Promise<void> {
		const { rows } = await this.#ctx.pool.query<{ after_cursor: string }>(
			"SELECT after_cursor FROM feed_cursor WHERE id = 1",
		);
		const stored = BigInt(rows[0]?.after_cursor ?? "0");
		const after = stored > FEED_REPLAY_WINDOW ? stored - FEED_REPLAY_WINDOW : 0n;
		// Its own signal: a failed apply ends this read of the feed, not only the loop over it.
		const reading = new AbortController();
		const stop = () => reading.abort();
		signal.addEventListener("abort", stop, { once: true });
		try {
			const groups = coalesced(this.#ctx.children.completions(after, reading.signal), APPLY_MAX_OUTCOMES);
			for await (const group of groups) await this.apply(group);
		} finally {
			signal.removeEventListener("abort", stop);
			reading.abort();
		}
	}
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		}
		signal.addEventListener("abort", done, { once: true });
	});
}
