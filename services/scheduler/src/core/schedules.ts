import { Cron } from "croner";
import { ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import type { SchedulerContext } from "./scheduler-context.js";
import { findTasks, unknownTask } from "./task-catalog.js";

/** A cron schedule as the core returns it. */
export interface ScheduleRecord {
	id: string;
	environmentId: string;
	taskId: string;
	cron: string;
	timezone: string;
	deduplicationKey: string;
	externalId: string;
	active: boolean;
	nextRunAt: Date | null;
	lastRunAt: Date | null;
	createdAt: Date;
}

/** A row of the schedules table. */
export interface ScheduleRow {
	id: string;
	environment_id: string;
	task_id: string;
	cron: string;
	timezone: string;
	deduplication_key: string | null;
	external_id: string;
	active: boolean;
	next_run_at: Date | null;
	last_run_at: Date | null;
	created_at: Date;
}

/** The core's view of a schedule row. */
export function scheduleFromRow(r: ScheduleRow): ScheduleRecord {
	return {
		id: r.id,
		environmentId: r.environment_id,
		taskId: r.task_id,
		cron: r.cron,
		timezone: r.timezone,
		deduplicationKey: r.deduplication_key ?? "",
		externalId: r.external_id,
		active: r.active,
		nextRunAt: r.next_run_at,
		lastRunAt: r.last_run_at,
		createdAt: r.created_at,
	};
}

/** Checks a timezone name; throws INVALID_ARGUMENT naming the field. */
export function checkTimezone(timezone: string, field = "timezone"): void {
	try {
		new Intl.DateTimeFormat("en-US", { timeZone: timezone });
	} catch {
		throw ServiceError.invalidField(
			field,
			`"${timezone}" is not an IANA timezone (for example "Europe/Paris" or "UTC")`,
		);
	}
}

/**
 * The first time after `after` that the five-field expression matches in the
 * timezone, computed by croner. Throws INVALID_ARGUMENT for a malformed expression.
 */
export function nextCronTime(cron: string, timezone: string, after: Date, field = "cron"): Date | null {
	const fields = cron.trim().split(/\s+/);
	if (fields.length !== 5) {
		throw ServiceError.invalidField(
			field,
			`"${cron}" must have five fields (minute hour day-of-month month day-of-week), got ${fields.length}`,
		);
	}
	checkTimezone(timezone);
	let job: Cron;
	try {
		job = new Cron(cron, { timezone, paused: true });
	} catch (error) {
		throw ServiceError.invalidField(
			field,
			`"${cron}" is not a valid cron expression: ${error instanceof Error ? error.message : String(error)}`,
		);
	}
	return job.nextRun(after);
}

/**
 * The first time after `after` a cron a caller gives fires; INVALID_ARGUMENT naming
 * the field when it never does (February 30th, or April 31st): croner finds no time
 * and the schedule was stored active with no next time, silently never firing.
 */
export function firstCronTime(cron: string, timezone: string, after: Date, field = "cron"): Date {
	const next = nextCronTime(cron, timezone, after, field);
	if (next === null) {
		throw ServiceError.invalidField(
			field,
			`"${cron}" never matches a time (a day that no month has, such as February 30th)`,
		);
	}
	return next;
}

/** Creating, reading, changing and deleting cron schedules. */
export class ScheduleRegistry {
	constructor(private readonly ctx: SchedulerContext) {}

	/** Creates a schedule, or updates and returns the one with the same deduplication key. */
	async create(input: {
		environmentId: string;
		taskId: string;
		cron: string;
		timezone: string;
		deduplicationKey: string;
		externalId: string;
	}): Promise<ScheduleRecord> {
		if (input.environmentId === "") throw ServiceError.invalidField("environment_id", "is required");
		if (input.taskId === "") throw ServiceError.invalidField("task_id", "is required");
		const timezone = input.timezone || "UTC";
		const now = new Date(this.ctx.clock.now());
		const next = firstCronTime(input.cron, timezone, now);
		const tasks = await findTasks(this.ctx.pool, input.environmentId, "", [input.taskId]);
		if (!tasks.has(input.taskId)) throw unknownTask("task_id", input.environmentId, input.taskId, "");
		const { rows } = await this.ctx.pool.query<ScheduleRow>(
			`INSERT INTO schedules (id, environment_id, task_id, cron, timezone, deduplication_key, external_id, next_run_at, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			 ON CONFLICT (environment_id, deduplication_key) WHERE deduplication_key IS NOT NULL
			 DO UPDATE SET task_id = $3, cron = $4, timezone = $5, external_id = COALESCE(NULLIF($7, ''), schedules.external_id),
				next_run_at = CASE WHEN schedules.active THEN $8 ELSE schedules.next_run_at END
			 RETURNING *`,
			[
				newId("sched", now.getTime()),
				input.environmentId,
				input.taskId,
				input.cron.trim(),
				timezone,
				input.deduplicationKey || null,
				input.externalId,
				next,
				now,
			],
		);
		return scheduleFromRow(rows[0] as ScheduleRow);
	}

	/** One schedule. */
	async get(environmentId: string, scheduleId: string): Promise<ScheduleRecord> {
		const { rows } = await this.ctx.pool.query<ScheduleRow>(
			"SELECT * FROM schedules WHERE id = $1 AND environment_id = $2",
			[scheduleId, environmentId],
		);
		if (rows[0] === undefined) throw ServiceError.notFound("schedule", scheduleId);
		return scheduleFromRow(rows[0]);
	}

	/** Schedules oldest first, after an id. */
	async list(environmentId: string, taskId: string, pageSize: number, afterId: string) {
		const { rows } = await this.ctx.pool.query<ScheduleRow>(
			`SELECT * FROM schedules WHERE environment_id = $1 AND ($2 = '' OR task_id = $2) AND id > $3 ORDER BY id LIMIT $4`,
			[environmentId, taskId, afterId, pageSize + 1],
		);
		const page = rows.slice(0, pageSize).map(scheduleFromRow);
		return {
			schedules: page,
			nextAfterId: rows.length > pageSize ? (page[page.length - 1] as ScheduleRecord).id : "",
		};
	}

	/** Changes cron, timezone or external id (empty keeps); the next time is recomputed. */
	async update(
		environmentId: string,
		scheduleId: string,
		change: { cron: string; timezone: string; externalId: string },
	) {
		const current = await this.get(environmentId, scheduleId);
		const cron = change.cron || current.cron;
		const timezone = change.timezone || current.timezone;
		const next = firstCronTime(cron, timezone, new Date(this.ctx.clock.now()));
		const { rows } = await this.ctx.pool.query<ScheduleRow>(
			`UPDATE schedules SET cron = $3, timezone = $4, external_id = $5, next_run_at = CASE WHEN active THEN $6::timestamptz END
			 WHERE id = $1 AND environment_id = $2 RETURNING *`,
			[scheduleId, environmentId, cron, timezone, change.externalId || current.externalId, next],
		);
		if (rows[0] === undefined) throw ServiceError.notFound("schedule", scheduleId);
		return scheduleFromRow(rows[0]);
	}

	/** Deletes a schedule; its runs stay. */
	async delete(environmentId: string, scheduleId: string): Promise<void> {
		const deleted = await this.ctx.pool.query("DELETE FROM schedules WHERE id = $1 AND environment_id = $2", [
			scheduleId,
			environmentId,
		]);
		if (deleted.rowCount === 0) throw ServiceError.notFound("schedule", scheduleId);
	}

	/** Activates (from the next tick after now) or deactivates a schedule. */
	async setActive(environmentId: string, scheduleId: string, active: boolean): Promise<ScheduleRecord> {
		const current = await this.get(environmentId, scheduleId);
		const next = active ? nextCronTime(current.cron, current.timezone, new Date(this.ctx.clock.now())) : null;
		const { rows } = await this.ctx.pool.query<ScheduleRow>(
			"UPDATE schedules SET active = $3, next_run_at = $4 WHERE id = $1 AND environment_id = $2 RETURNING *",
			[scheduleId, environmentId, active, next],
		);
		if (rows[0] === undefined) throw ServiceError.notFound("schedule", scheduleId);
		return scheduleFromRow(rows[0]);
	}
}
