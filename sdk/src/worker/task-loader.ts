import { pathToFileURL } from "node:url";
import { durationMs } from "../tasks/duration.js";
import { isTask, type Task } from "../tasks/task.js";
import type { IndexedTask } from "./ipc-protocol.js";

/** Imports each entry file and collects the tasks they export; duplicate ids are an error. */
export async function loadTasks(entries: string[]): Promise<Map<string, Task>> {
	const found = new Map<string, Task>();
	for (const entry of entries) {
		const module = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
		for (const value of Object.values(module)) {
			if (!isTask(value)) continue;
			const other = found.get(value.id);
			if (other !== undefined && other !== value) {
				throw new Error(`task id "${value.id}" is defined twice (in ${entry} and an earlier file)`);
			}
			found.set(value.id, value);
		}
	}
	return found;
}

/** The declaration of a task the worker registers. */
export function indexedTask(task: Task): IndexedTask {
	const o = task.options;
	return {
		id: task.id,
		...(o.machine === undefined ? {} : { machine: o.machine }),
		...(o.retry === undefined ? {} : { retry: o.retry }),
		...(o.queue === undefined ? {} : { queue: o.queue }),
		...(o.maxDuration === undefined
			? {}
			: { maxDurationMs: durationMs(`${task.id}.maxDuration`, o.maxDuration) }),
		...(task.cron === undefined ? {} : { cron: task.cron }),
	};
}
