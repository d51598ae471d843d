/** The taskmesh SDK: define tasks, trigger them, wait, log, and read runs. */
export type { ClientConfig, DirectConfig, GatewayConfig, ServiceUrls } from "./client/config.js";
export * from "./client/errors.js";
export { configure } from "./client/sdk-config.js";
export type { TaskContext } from "./tasks/attempt-runtime.js";
export type { DurationInput } from "./tasks/duration.js";
export { logger } from "./tasks/logger.js";
export type { AttemptInfo, RunErrorInfo, RunInfo, RunStatusName } from "./tasks/run-info.js";
export { type ListRunsOptions, type RunPage, runs } from "./tasks/runs.js";
export { type CreateScheduleOptions, type ScheduleInfo, schedules } from "./tasks/schedules.js";
export {
	type CronInput,
	isTask,
	type QueueOptions,
	type Task,
	type TaskOptions,
	task,
} from "./tasks/task.js";
export { TaskRunResult } from "./tasks/task-run-result.js";
export type { BatchHandle, BatchItem, RunHandle } from "./tasks/trigger.js";
export type { MachineInput, RetryOptions, TriggerOptions } from "./tasks/trigger-options.js";
export { wait } from "./tasks/wait.js";

import { triggerBatch, triggerBatchAndWait, triggerTask, triggerTaskAndWait } from "./tasks/trigger.js";

/** Triggering tasks by id (useful where the task's module is not imported). */
export const tasks = {
	trigger: triggerTask,
	triggerAndWait: triggerTaskAndWait,
	batchTrigger: triggerBatch,
	batchTriggerAndWait: triggerBatchAndWait,
};

/** Batches of runs of any tasks. */
export const batch = {
	trigger: triggerBatch,
	triggerAndWait: triggerBatchAndWait,
};
