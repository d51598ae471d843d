import { TaskmeshValidationError } from "../client/errors.js";
import type { TaskContext } from "./attempt-runtime.js";
import { type DurationInput, durationMs } from "./duration.js";
import type { TaskRunResult } from "./task-run-result.js";
import {
	type BatchHandle,
	type RunHandle,
	triggerBatch,
	triggerBatchAndWait,
	triggerTask,
	triggerTaskAndWait,
} from "./trigger.js";
import {
	type MachineInput,
	machine,
	type RetryOptions,
	retryPolicy,
	type TriggerOptions,
} from "./trigger-options.js";

/** A task's default queue: its name ("task/<id>" when unset) and concurrency limit. */
export interface QueueOptions {
	name?: string;
	concurrencyLimit?: number;
}

/** A cron schedule declared with the task: a pattern, read in UTC or the given timezone. */
export type CronInput = string | { pattern: string; timezone?: string };

/** What `task()` takes. */
export interface TaskOptions<P, O> {
	/** Unique within the project: letters, digits and - _ . / :. */
	id: string;
	/** The work. Its return value (JSON) is the run's output; a throw fails the attempt. */
	run: (payload: P, params: { ctx: TaskContext }) => Promise<O> | O;
	/** Machine preset (or custom resources) each attempt runs on; "small-1x" by default. */
	machine?: MachineInput;
	retry?: RetryOptions;
	queue?: QueueOptions;
	/** Seconds (or a duration string) an attempt may run before it is stopped as TIMED_OUT. */
	maxDuration?: DurationInput;
}

/** A task as the SDK keeps it: its options checked, plus trigger helpers. */
export interface Task<P = unknown, O = unknown> {
	readonly id: string;
	readonly options: TaskOptions<P, O>;
	/** The cron of a scheduled task. */
	readonly cron?: { pattern: string; timezone: string };
	/** Triggers a run of this task. */
	trigger(payload: P, options?: TriggerOptions): Promise<RunHandle>;
	/** Triggers a run and waits for its outcome. */
	triggerAndWait(payload: P, options?: TriggerOptions): Promise<TaskRunResult<O>>;
	/** Triggers a batch of runs of this task. */
	batchTrigger(items: { payload: P; options?: TriggerOptions }[]): Promise<BatchHandle>;
	/** Triggers a batch and waits for every run; results in item order. */
	batchTriggerAndWait(
		items: { payload: P; options?: TriggerOptions }[],
	): Promise<{ batchId: string; runs: TaskRunResult<O>[] }>;
}

/** Marks exported values that are tasks, so a worker finds them in the project's modules. */
export const TASK_MARK = Symbol.for("taskmesh.sdk.task");

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.\-/:]{0,127}$/;

/** Defines a task. Export it from a file the worker loads. */
export function task<P = unknown, O = unknown>(options: TaskOptions<P, O>): Task<P, O> {
	return defineTask(options, undefined);
}

/** Defines a task, with a cron when it is a scheduled task. */
export function defineTask<P, O>(options: TaskOptions<P, O>, cron: CronInput | undefined): Task<P, O> {
	if (typeof options !== "object" || options === null)
		throw invalid("options", "task() takes an options object");
	if (typeof options.id !== "string" || !ID_PATTERN.test(options.id)) {
		throw invalid(
			"id",
			`"${String(options.id)}" is not a task id (1 to 128 of letters, digits and - _ . / :)`,
		);
	}
	if (typeof options.run !== "function") throw invalid(`${options.id}.run`, "run must be a function");
	if (options.machine !== undefined) machine(options.machine, `${options.id}.machine`);
	if (options.retry !== undefined) retryPolicy(options.retry, `${options.id}.retry`);
	if (options.maxDuration !== undefined) durationMs(`${options.id}.maxDuration`, options.maxDuration);
	const limit = options.queue?.concurrencyLimit;
	if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
		throw invalid(`${options.id}.queue.concurrencyLimit`, `${limit} is not a whole number of 0 or more`);
	}
	const id = options.id;
	const schedule = cron === undefined ? undefined : cronOf(id, cron);
	const defined: Task<P, O> & { [TASK_MARK]: true } = {
		[TASK_MARK]: true,
		id,
		options,
		...(schedule === undefined ? {} : { cron: schedule }),
		trigger: (payload, opts) => triggerTask(id, payload, opts),
		triggerAndWait: (payload, opts) => triggerTaskAndWait<O>(id, payload, opts),
		batchTrigger: (items) =>
			triggerBatch(items.map((i) => ({ task: id, payload: i.payload, options: i.options }))),
		batchTriggerAndWait: (items) =>
			triggerBatchAndWait<O>(items.map((i) => ({ task: id, payload: i.payload, options: i.options }))),
	};
	return defined;
}

/** Whether a value (for example a module export) is a task. */
export function isTask(value: unknown): value is Task {
	return (
		typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TASK_MARK] === true
	);
}

function cronOf(id: string, cron: CronInput): { pattern: string; timezone: string } {
	const pattern = typeof cron === "string" ? cron : cron?.pattern;
	const timezone = typeof cron === "string" ? "UTC" : (cron?.timezone ?? "UTC");
	if (typeof pattern !== "string" || pattern.trim().split(/\s+/).length !== 5) {
		throw invalid(
			`${id}.cron`,
			`"${String(pattern)}" is not a five-field cron expression (minute hour day month weekday)`,
		);
	}
	try {
		new Intl.DateTimeFormat("en", { timeZone: timezone });
	} catch {
		throw invalid(`${id}.cron.timezone`, `"${timezone}" is not an IANA timezone`);
	}
	return { pattern: pattern.trim(), timezone };
}

function invalid(field: string, description: string): TaskmeshValidationError {
	return new TaskmeshValidationError(`${field}: ${description}`, {
		code: "INVALID_ARGUMENT",
		fieldViolations: [{ field, description }],
	});
}
