import type pg from "pg";
import type { Logger } from "pino";
import { AttemptLifecycle } from "./attempts.js";
import { type Clock, systemClock } from "./clock.js";
import { CronTicker } from "./cron-ticker.js";
import { DeploymentRegistry } from "./deployments.js";
import { RunCompletionFeed } from "./run-completions.js";
import { RunControl } from "./run-control.js";
import { RunMaintenance } from "./run-maintenance.js";
import type { RunQueue } from "./run-queue.js";
import { RunReader } from "./run-reads.js";
import { RunWatch } from "./run-watch.js";
import type { SchedulerContext, SchedulerLimits } from "./scheduler-context.js";
import { ScheduleRegistry } from "./schedules.js";
import { RunTrigger } from "./trigger-runs.js";
import { RunWaits } from "./waits.js";
import { WorkerRegistry } from "./workers.js";

/** Intervals of the background loops; 0 disables a loop (tests drive them by hand). */
export interface EngineIntervals {
	maintenanceMs: number;
	cronMs: number;
	reconcileMs: number;
	reconcileMinAgeMs: number;
}

/** What the engine is built from. */
export interface SchedulerEngineOptions {
	pool: pg.Pool;
	schema: string;
	queue: RunQueue;
	logger: Logger;
	limits: SchedulerLimits;
	intervals: EngineIntervals;
	clock?: Clock;
	random?: () => number;
}

/** The run engine: every part over one shared context, plus its background loops. */
export class SchedulerEngine {
	readonly ctx: SchedulerContext;
	readonly trigger: RunTrigger;
	readonly attempts: AttemptLifecycle;
	readonly waits: RunWaits;
	readonly reader: RunReader;
	readonly control: RunControl;
	readonly workers: WorkerRegistry;
	readonly deployments: DeploymentRegistry;
	readonly schedules: ScheduleRegistry;
	readonly cron: CronTicker;
	readonly maintenance: RunMaintenance;
	readonly completions: RunCompletionFeed;
	private readonly timers: NodeJS.Timeout[] = [];
	private readonly running = new Set<Promise<unknown>>();
	private closed = false;

	constructor(private readonly options: SchedulerEngineOptions) {
		this.ctx = {
			pool: options.pool,
			clock: options.clock ?? systemClock,
			logger: options.logger,
			queue: options.queue,
			watch: new RunWatch(),
			limits: options.limits,
			...(options.random === undefined ? {} : { random: options.random }),
		};
		this.trigger = new RunTrigger(this.ctx);
		this.attempts = new AttemptLifecycle(this.ctx);
		this.waits = new RunWaits(this.ctx);
		this.reader = new RunReader(this.ctx);
		this.control = new RunControl(this.ctx, this.trigger);
		this.workers = new WorkerRegistry(this.ctx);
		this.deployments = new DeploymentRegistry(this.ctx);
		this.schedules = new ScheduleRegistry(this.ctx);
		this.cron = new CronTicker(this.ctx, this.trigger, options.schema);
		this.maintenance = new RunMaintenance(this.ctx, this.workers);
		this.completions = new RunCompletionFeed(this.ctx);
	}

	/** Starts the loops whose interval is not 0. */
	start(): void {
		const { intervals } = this.options;
		this.every(intervals.maintenanceMs, "maintenance", () => this.maintenance.runOnce());
		this.every(intervals.cronMs, "cron", () => this.cron.tick());
		this.every(intervals.reconcileMs, "reconcile", () =>
			this.maintenance.reconcile(intervals.reconcileMinAgeMs),
		);
	}

	private every(ms: number, name: string, step: () => Promise<unknown>): void {
		if (ms <= 0) return;
		let busy = false;
		const timer = setInterval(() => {
			// A slow step is never run twice at once on one replica.
			if (busy || this.closed) return;
			busy = true;
			const job = step()
				.catch((error: unknown) =>
					this.ctx.logger.error({ err: error, loop: name }, "scheduler loop step failed"),
				)
				.finally(() => {
					busy = false;
					this.running.delete(job);
				});
			this.running.add(job);
		}, ms);
		timer.unref();
		this.timers.push(timer);
	}

	/** Stops the loops, waits for steps in progress and gives up the cron lease. */
	async close(): Promise<void> {
		this.closed = true;
		for (const t of this.timers) clearInterval(t);
		await Promise.allSettled([...this.running]);
		await this.cron.close();
		this.options.queue.close?.();
	}
}
