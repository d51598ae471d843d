import { ServiceError } from "../../../kit/src/index.js";
import { resolveMachine } from "./machine-presets.js";
import { checkTimezone, firstCronTime } from "./schedules.js";
import type { TaskDefinition } from "./task-catalog.js";
import { durationViolation, QUEUE_NAME, QUEUE_NAME_RULE, retryViolation } from "./trigger-validation.js";

/** A task's default queue is `task/<id>`, so an id is a queue name's tail. */
const TASK_ID = /^[A-Za-z0-9._\-/:]{1,123}$/;
/** The queue service's largest concurrency limit. */
const MAX_QUEUE_LIMIT = 1_000_000;

/**
 * Checks the tasks a worker or a deployment declares, before any is stored; throws
 * INVALID_ARGUMENT naming `tasks[i].<field>` and the rule. Without it a task whose id
 * or queue the queue service refuses was taken, and every run of it stayed QUEUED,
 * never delivered; an unknown machine preset or a bad retry policy failed each trigger
 * of the task instead of its declaration.
 */
export function checkTaskDefinitions(tasks: readonly TaskDefinition[], now: Date): void {
	const seen = new Set<string>();
	tasks.forEach((task, i) => {
		const at = `tasks[${i}]`;
		if (!TASK_ID.test(task.id)) {
			throw ServiceError.invalidField(
				`${at}.id`,
				`${shown(task.id)} must be 1 to 123 letters, digits or . _ - / : (its default queue is task/<id>)`,
			);
		}
		if (seen.has(task.id)) throw ServiceError.invalidField(`${at}.id`, `${shown(task.id)} is declared twice`);
		seen.add(task.id);
		if (task.queue !== "" && !QUEUE_NAME.test(task.queue))
			throw ServiceError.invalidField(`${at}.queue`, QUEUE_NAME_RULE);
		resolveMachine(task.machine, `${at}.machine`);
		if (task.retry !== undefined) {
			const wrong = retryViolation(task.retry);
			if (wrong !== undefined)
				throw ServiceError.invalidField(`${at}.retry.${wrong.field}`, wrong.description);
		}
		const duration = durationViolation(task.maxDurationMs);
		if (duration !== undefined) throw ServiceError.invalidField(`${at}.max_duration`, duration);
		if (!(task.queueConcurrencyLimit >= 0 && task.queueConcurrencyLimit <= MAX_QUEUE_LIMIT)) {
			throw ServiceError.invalidField(
				`${at}.queue_concurrency_limit`,
				`must be 0 (none) to ${MAX_QUEUE_LIMIT}, got ${task.queueConcurrencyLimit}`,
			);
		}
		if (task.cron !== "") {
			const timezone = task.cronTimezone || "UTC";
			checkTimezone(timezone, `${at}.cron_timezone`);
			firstCronTime(task.cron, timezone, now, `${at}.cron`);
		}
	});
}

/** An id as an error quotes it: whole when short, else its start and its length. */
function shown(id: string): string {
	return id.length <= 64
		? JSON.stringify(id)
		: `${JSON.stringify(id.slice(0, 64))}… (${id.length} characters)`;
}
