import type { Schedule } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { call, TaskmeshError } from "../client/errors.js";
import { sdkClients } from "../client/sdk-config.js";
import { fromProtoTimestamp } from "./duration.js";
import { type CronInput, defineTask, type Task, type TaskOptions } from "./task.js";

/** A cron schedule as the SDK shows it. */
export interface ScheduleInfo {
	id: string;
	taskId: string;
	cron: string;
	timezone: string;
	externalId: string;
	deduplicationKey: string;
	active: boolean;
	nextRunAt?: Date;
	lastRunAt?: Date;
}

/** What schedules.create takes. */
export interface CreateScheduleOptions {
	task: string;
	cron: string;
	timezone?: string;
	/** Creating again with this key updates and returns the same schedule. */
	deduplicationKey?: string;
	externalId?: string;
}

/** Scheduled tasks and cron schedules. */
export const schedules = {
	/**
	 * Defines a task that runs on a cron: `cron` is a five-field pattern (UTC) or
	 * `{ pattern, timezone }`. The worker creates its schedule when it registers.
	 */
	task<O = unknown>(
		options: TaskOptions<{ timestamp: string; scheduleId: string }, O> & { cron: CronInput },
	): Task<{ timestamp: string; scheduleId: string }, O> {
		return defineTask(options, options.cron);
	},
	/** Creates a schedule for a task (or returns the one with the same deduplication key). */
	async create(options: CreateScheduleOptions): Promise<ScheduleInfo> {
		const clients = sdkClients();
		const response = await call(
			clients.scheduler.createSchedule({
				environmentId: clients.environmentId,
				taskId: options.task,
				cron: options.cron,
				timezone: options.timezone ?? "UTC",
				deduplicationKey: options.deduplicationKey ?? "",
				externalId: options.externalId ?? "",
			}),
		);
		return scheduleInfoOf(response.schedule);
	},
	/** Schedules of the environment, optionally of one task. */
	async list(options: { task?: string } = {}): Promise<ScheduleInfo[]> {
		const clients = sdkClients();
		const out: ScheduleInfo[] = [];
		let pageToken = "";
		do {
			const page = await call(
				clients.scheduler.listSchedules({
					environmentId: clients.environmentId,
					taskId: options.task ?? "",
					pageSize: 500,
					pageToken,
				}),
			);
			out.push(...page.schedules.map(scheduleInfoOf));
			pageToken = page.nextPageToken;
		} while (pageToken !== "");
		return out;
	},
	/** Deletes a schedule; runs it already triggered are kept. */
	async del(scheduleId: string): Promise<void> {
		const clients = sdkClients();
		await call(clients.scheduler.deleteSchedule({ environmentId: clients.environmentId, scheduleId }));
	},
};

function scheduleInfoOf(s: Schedule | undefined): ScheduleInfo {
	if (s === undefined) throw new TaskmeshError("the scheduler returned no schedule");
	const next = fromProtoTimestamp(s.nextRunAt);
	const last = fromProtoTimestamp(s.lastRunAt);
	return {
		id: s.id,
		taskId: s.taskId,
		cron: s.cron,
		timezone: s.timezone,
		externalId: s.externalId,
		deduplicationKey: s.deduplicationKey,
		active: s.active,
		...(next === undefined ? {} : { nextRunAt: next }),
		...(last === undefined ? {} : { lastRunAt: last }),
	};
}
