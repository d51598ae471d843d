import type { RunRow } from "./run-rows.js";
import { messageFor } from "./run-rows.js";
import { finishRuns, queueDueRuns } from "./run-transitions.js";
import {
	addEffects,
	applyEffects,
	inTransaction,
	noEffects,
	type SchedulerContext,
} from "./scheduler-context.js";
import { RunWaits } from "./waits.js";
import type { WorkerRegistry } from "./workers.js";

/** What one maintenance pass did. */
export interface MaintenanceReport {
	queued: number;
	expired: number;
	timedOut: number;
	resumed: number;
	crashed: number;
}

/**
 * The periodic work of the run engine, each step a guarded batch so replicas may
 * run it side by side: delayed and reattempting runs whose time came are queued,
 * queued runs past their ttl expire, executing attempts past their max duration
 * time out, due time waits resume, silent workers' runs are queued again.
 */
export class RunMaintenance {
	private readonly waits: RunWaits;

	constructor(
		private readonly ctx: SchedulerContext,
		private readonly workers: WorkerRegistry,
		private readonly batchSize = 500,
	) {
		this.waits = new RunWaits(ctx);
	}

	/** One pass of every step. */
	async runOnce(): Promise<MaintenanceReport> {
		const now = new Date(this.ctx.clock.now());
		const effects = noEffects();
		for (const from of ["DELAYED", "REATTEMPTING"] as const) {
			addEffects(effects, await queueDueRuns(this.ctx.pool, from, now, this.batchSize));
		}
		const queued = effects.enqueue.length;
		const expired = await this.finishDue(
			"SELECT id FROM runs WHERE status = 'QUEUED' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
			"EXPIRED",
			"QUEUED",
			{
				name: "RunExpired",
				message: "the run was not started within its ttl",
				stackTrace: "",
				code: "TTL_EXPIRED",
				retryable: false,
			},
			undefined,
			now,
		);
		const timedOut = await this.finishDue(
			"SELECT id FROM runs WHERE status = 'EXECUTING' AND deadline_at <= $1 ORDER BY deadline_at LIMIT $2",
			"TIMED_OUT",
			"EXECUTING",
			{
				name: "MaxDurationExceeded",
				message: "the attempt ran past its max duration",
				stackTrace: "",
				code: "MAX_DURATION_EXCEEDED",
				retryable: false,
			},
			"TIMED_OUT",
			now,
		);
		await applyEffects(this.ctx, effects);
		const resumed = await this.waits.resolveDueTimeWaits(this.batchSize);
		const crashed = (await this.workers.reapSilentWorkers()).length;
		return { queued, expired, timedOut, resumed, crashed };
	}

	private async finishDue(
		select: string,
		status: "EXPIRED" | "TIMED_OUT",
		from: "QUEUED" | "EXECUTING",
		error: { name: string; message: string; stackTrace: string; code: string; retryable: boolean },
		attemptStatus: "TIMED_OUT" | undefined,
		now: Date,
	): Promise<number> {
		const due = await this.ctx.pool.query<{ id: string }>(select, [now, this.batchSize]);
		if (due.rows.length === 0) return 0;
		const done = await inTransaction(this.ctx.pool, (client) =>
			finishRuns(client, {
				ids: due.rows.map((r) => r.id),
				from: [from],
				status,
				now,
				error,
				...(attemptStatus === undefined ? {} : { attemptStatus }),
			}),
		);
		await applyEffects(this.ctx, done.effects);
		return done.rows.length;
	}

	/**
	 * Enqueues again every run QUEUED in PostgreSQL for at least `minAgeMs`. The
	 * queue ignores ids it still holds, so only messages it lost (for example
	 * after Redis restarted without persistence) are stored again. Returns how many
	 * messages it offered.
	 */
	async reconcile(minAgeMs: number): Promise<number> {
		const cutoff = new Date(this.ctx.clock.now() - minAgeMs);
		let after = "";
		let offered = 0;
		for (;;) {
			const { rows } = await this.ctx.pool.query<RunRow>(
				`SELECT * FROM runs WHERE status = 'QUEUED' AND queued_at <= $1 AND id > $2 ORDER BY id LIMIT $3`,
				[cutoff, after, this.batchSize],
			);
			if (rows.length === 0) return offered;
			await this.ctx.queue.enqueue(rows.map(messageFor));
			offered += rows.length;
			after = (rows[rows.length - 1] as RunRow).id;
		}
	}
}
