import type pg from "pg";
import type { Logger } from "pino";
import type { Clock } from "./clock.js";
import type { RunMessage, RunQueue, Settlement } from "./run-queue.js";
import type { RunWatch } from "./run-watch.js";

/** Limits and intervals the core applies (from the service's configuration). */
export interface SchedulerLimits {
	maxPayloadBytes: number;
	/** Largest run metadata, as the google.protobuf.Struct every answer carries it in. */
	maxMetadataBytes: number;
	/** Largest output CompleteAttempt accepts. */
	maxOutputBytes: number;
	/** Bytes of older resolved waits' results StartAttempt carries inline (the newest always is). */
	resolvedWaitsInlineBytes: number;
	heartbeatIntervalMs: number;
	defaultIdempotencyKeyTtlMs: number;
}

/** The resources every part of the run engine shares, passed to each constructor. */
export interface SchedulerContext {
	pool: pg.Pool;
	clock: Clock;
	logger: Logger;
	queue: RunQueue;
	watch: RunWatch;
	limits: SchedulerLimits;
	random?: () => number;
}

/**
 * What a committed transaction must still do outside PostgreSQL. Messages are
 * enqueued after commit: if that fails, the run stays QUEUED in PostgreSQL and
 * the reconciler enqueues it again, so nothing is lost.
 */
export interface Effects {
	enqueue: RunMessage[];
	settle: Settlement[];
	changedRuns: string[];
	changedWaits: string[];
}

/** An empty set of effects to fill. */
export function noEffects(): Effects {
	return { enqueue: [], settle: [], changedRuns: [], changedWaits: [] };
}

/** Merges b into a. */
export function addEffects(a: Effects, b: Effects): Effects {
	a.enqueue.push(...b.enqueue);
	a.settle.push(...b.settle);
	a.changedRuns.push(...b.changedRuns);
	a.changedWaits.push(...b.changedWaits);
	return a;
}

/** Carries out effects after commit; queue failures are logged, never thrown. */
export async function applyEffects(ctx: SchedulerContext, effects: Effects): Promise<void> {
	const jobs: Promise<void>[] = [];
	if (effects.enqueue.length > 0) {
		jobs.push(
			ctx.queue.enqueue(effects.enqueue).catch((error: unknown) => {
				ctx.logger.warn(
					{ err: error, messages: effects.enqueue.map((m) => m.id) },
					"enqueue failed; the reconciler will enqueue these runs again",
				);
			}),
		);
	}
	if (effects.settle.length > 0) {
		// Not awaited: the run's state is already committed, and a lost settlement only
		// means a redelivery that StartAttempt's guard refuses and settles then.
		void ctx.queue.settle(effects.settle).catch((error: unknown) => {
			ctx.logger.warn({ err: error }, "settling queue deliveries failed");
		});
	}
	await Promise.all(jobs);
	ctx.watch.notify(effects.changedRuns, effects.changedWaits);
}

/** One transaction on one pooled client (the kit's helper, re-exported for the core's files). */
export { inTransaction } from "../../../kit/src/postgres/transaction.js";

/** Runs fn on one pooled client without a transaction (each statement commits alone). */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
	const client = await pool.connect();
	try {
		return await fn(client);
	} finally {
		client.release();
	}
}
