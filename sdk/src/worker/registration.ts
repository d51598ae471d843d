import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TaskDefinitionSchema } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { protoDuration } from "../tasks/duration.js";
import { machine, retryPolicy } from "../tasks/trigger-options.js";
import { AttemptProcess, type OutputSink } from "./attempt-process.js";
import type { FromChild, IndexedTask } from "./ipc-protocol.js";

/**
 * Loads the project's task files in a throwaway child and lists its tasks, so a
 * file that throws at load fails here, before the worker registers, and never
 * inside the worker's own process.
 */
export async function indexTasks(
	entries: string[],
	env: NodeJS.ProcessEnv,
	output?: OutputSink,
): Promise<IndexedTask[]> {
	const proc = await AttemptProcess.start({
		entries,
		memoryMiB: 512,
		env,
		...(output === undefined ? {} : { output }),
	});
	try {
		return await new Promise<IndexedTask[]>((resolve, reject) => {
			proc.on("message", (m: FromChild) => {
				if (m.type === "indexed") resolve(m.tasks);
			});
			proc.once("exit", () => reject(new Error("the task process exited while listing tasks")));
			proc.send({ type: "index" });
		});
	} finally {
		await proc.kill();
	}
}

/** The contract's form of a declared task. */
export function taskDefinition(task: IndexedTask): MessageInitShape<typeof TaskDefinitionSchema> {
	return {
		id: task.id,
		queue: task.queue?.name ?? "",
		queueConcurrencyLimit: task.queue?.concurrencyLimit ?? 0,
		...(task.machine === undefined ? {} : { machine: machine(task.machine, `${task.id}.machine`) }),
		...(task.retry === undefined ? {} : { retry: retryPolicy(task.retry, `${task.id}.retry`) }),
		...(task.maxDurationMs === undefined ? {} : { maxDuration: protoDuration(task.maxDurationMs) }),
		cron: task.cron?.pattern ?? "",
		cronTimezone: task.cron?.timezone ?? "",
	};
}
