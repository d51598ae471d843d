import type pg from "pg";
import { applyEffects, inTransaction, type SchedulerContext } from "./scheduler-context.js";
import { nextCronTime, type ScheduleRow } from "./schedules.js";
import type { RunTrigger } from "./trigger-runs.js";

/**
 * Fires due cron schedules. Only the replica holding the tick lease (a PostgreSQL
 * session advisory lock kept on a dedicated connection) fires; each tick is also
 * recorded under a unique (schedule, scheduled time), so a lease hand-over cannot
 * fire one twice.
 *
 * Missed ticks: a schedule whose next time passed while no replica ticked (downtime)
 * fires once for that overdue time, then continues from the first time after now;
 * the other missed times are skipped, never fired in a burst.
 */
export class CronTicker {
	private lease: pg.PoolClient | undefined;
	private readonly lockKey: string;

	constructor(
		private readonly ctx: SchedulerContext,
		private readonly trigger: RunTrigger,
		schema: string,
		private readonly batchSize = 100,
	) {
		this.lockKey = `taskmesh:${schema}:cron`;
	}

	/** True while this replica holds the tick lease. */
	get leader(): boolean {
		return this.lease !== undefined;
	}

	/** Fires every due schedule if this replica holds (or takes) the lease; returns the runs fired. */
	async tick(): Promise<string[]> {
		if (!(await this.holdLease())) return [];
		const now = new Date(this.ctx.clock.now());
		const due = await this.ctx.pool.query<ScheduleRow>(
			"SELECT * FROM schedules WHERE active AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2",
			[now, this.batchSize],
		);
		const fired: string[] = [];
		for (const schedule of due.rows) {
			const runId = await this.fire(schedule, now).catch((error: unknown) => {
				this.ctx.logger.error(
					{ err: error, schedule_id: schedule.id },
					"cron tick failed; it is tried again next tick",
				);
				return undefined;
			});
			if (runId !== undefined) fired.push(runId);
		}
		return fired;
	}

	private async fire(schedule: ScheduleRow, now: Date): Promise<string | undefined> {
		const scheduled = schedule.next_run_at as Date;
		const result = await inTransaction(this.ctx.pool, async (client) => {
			const next = nextCronTime(schedule.cron, schedule.timezone, now > scheduled ? now : scheduled);
			const moved = await client.query(
				"UPDATE schedules SET next_run_at = $3, last_run_at = $2 WHERE id = $1 AND next_run_at = $2 AND active",
				[schedule.id, scheduled, next],
			);
			if (moved.rowCount === 0) return undefined;
			const tick = await client.query(
				`INSERT INTO schedule_ticks (schedule_id, scheduled_time, run_id, fired_at) VALUES ($1, $2, '', $3)
				 ON CONFLICT DO NOTHING`,
				[schedule.id, scheduled, now],
			);
			if (tick.rowCount === 0) return undefined;
			const payload = {
				scheduleId: schedule.id,
				timestamp: scheduled.toISOString(),
				lastTimestamp: schedule.last_run_at?.toISOString() ?? null,
				timezone: schedule.timezone,
				externalId: schedule.external_id,
			};
			const created = await this.trigger.triggerIn(client, {
				environmentId: schedule.environment_id,
				taskId: schedule.task_id,
				payload: Buffer.from(JSON.stringify(payload)),
				payloadType: "application/json",
				options: {},
				scheduleId: schedule.id,
			});
			await client.query(
				"UPDATE schedule_ticks SET run_id = $3 WHERE schedule_id = $1 AND scheduled_time = $2",
				[schedule.id, scheduled, created.run.id],
			);
			return created;
		});
		if (result === undefined) return undefined;
		await applyEffects(this.ctx, result.effects);
		return result.run.id;
	}

	private async holdLease(): Promise<boolean> {
		if (this.lease !== undefined) return true;
		const client = await this.ctx.pool.connect();
		try {
			const { rows } = await client.query<{ locked: boolean }>(
				"SELECT pg_try_advisory_lock(hashtext($1)) AS locked",
				[this.lockKey],
			);
			if (rows[0]?.locked !== true) {
				client.release();
				return false;
			}
		} catch (error) {
			client.release();
			throw error;
		}
		// A broken lease connection loses the lock in PostgreSQL; drop it so the next tick competes again.
		client.on("error", () => this.dropLease(true));
		this.lease = client;
		return true;
	}

	private dropLease(broken: boolean): void {
		const lease = this.lease;
		this.lease = undefined;
		lease?.release(broken);
	}

	/** Gives the lease up (on shutdown), so another replica takes over at once. */
	async close(): Promise<void> {
		const lease = this.lease;
		if (lease === undefined) return;
		await lease.query("SELECT pg_advisory_unlock(hashtext($1))", [this.lockKey]).catch(() => {});
		this.dropLease(false);
	}
}
