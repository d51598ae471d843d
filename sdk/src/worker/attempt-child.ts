/**
 * The child process that runs attempts: loads the project's task files, then
 * runs one attempt at a time as the worker assigns them, its heap capped by the
 * machine preset (the worker forks it with --max-old-space-size).
 */
import { ConcurrentWaitError } from "../client/errors.js";
import {
	type AttemptRuntime,
	type LogLevelName,
	setCurrentAttempt,
	type WaitOutcome,
	type WaitRequest,
} from "../tasks/attempt-runtime.js";
import { deserialize, JSON_TYPE, serialize } from "../tasks/payload.js";
import type { Task } from "../tasks/task.js";
import { resetTriggerSequence } from "../tasks/trigger.js";
import type { AttemptAssignment, FromChild, ToChild, WireError } from "./ipc-protocol.js";
import { wireError } from "./ipc-protocol.js";
import { indexedTask, loadTasks } from "./task-loader.js";

const send = (message: FromChild): void => {
	process.send?.(message);
};

/** The state of the attempt this child runs now. */
class RunningAttempt implements AttemptRuntime {
	private waitIndex = 0;
	private pending = false;
	private resume: { resolve: (o: WaitOutcome) => void; reject: (e: Error) => void } | undefined;
	concurrentWait: ConcurrentWaitError | undefined;

	constructor(readonly assignment: AttemptAssignment) {}

	get ctx() {
		return this.assignment.ctx;
	}

	wait(request: WaitRequest): Promise<WaitOutcome> {
		if (this.pending) {
			// The run fails whatever the task does with this error, so a catch cannot hide it.
			this.concurrentWait ??= new ConcurrentWaitError();
			send({ type: "concurrent-wait" });
			return Promise.reject(this.concurrentWait);
		}
		this.pending = true;
		const memo = this.assignment.resolvedWaits[this.waitIndex++];
		const outcome =
			memo !== undefined
				? Promise.resolve(memo)
				: new Promise<WaitOutcome>((resolve, reject) => {
						this.resume = { resolve, reject };
						send({ type: "wait", request });
					});
		return outcome.finally(() => {
			this.pending = false;
		});
	}

	resumeWith(outcome: WaitOutcome): void {
		const r = this.resume;
		this.resume = undefined;
		r?.resolve(outcome);
	}

	failWait(error: WireError): void {
		const r = this.resume;
		this.resume = undefined;
		const failure = Object.assign(new Error(error.message), { name: error.name, code: error.code });
		r?.reject(failure);
	}

	log(level: LogLevelName, message: string, attributes: Record<string, unknown>): void {
		const flat: Record<string, string> = {};
		for (const [k, v] of Object.entries(attributes)) flat[k] = typeof v === "string" ? v : safeJson(v);
		send({ type: "log", level, message, attributes: flat, time: Date.now() });
	}
}

async function runAttempt(tasks: Map<string, Task>, assignment: AttemptAssignment): Promise<FromChild> {
	const task = tasks.get(assignment.ctx.task.id);
	if (task === undefined) {
		return {
			type: "failed",
			error: {
				name: "UnknownTaskError",
				message: `task "${assignment.ctx.task.id}" is not exported by this worker's task files`,
				stackTrace: "",
				code: "TASK_NOT_FOUND",
				retryable: false,
			},
		};
	}
	const attempt = new RunningAttempt(assignment);
	resetTriggerSequence();
	setCurrentAttempt(attempt);
	current = attempt;
	try {
		const payload = deserialize(assignment.payload, assignment.payloadType || JSON_TYPE);
		const result = await task.options.run(payload, { ctx: assignment.ctx });
		if (attempt.concurrentWait !== undefined)
			return { type: "failed", error: wireError(attempt.concurrentWait, false) };
		try {
			return { type: "done", output: serialize("output", result), outputType: JSON_TYPE };
		} catch (error) {
			return { type: "failed", error: wireError(error, false) };
		}
	} catch (error) {
		if (attempt.concurrentWait !== undefined)
			return { type: "failed", error: wireError(attempt.concurrentWait, false) };
		return { type: "failed", error: wireError(error, true) };
	} finally {
		setCurrentAttempt(undefined);
		current = undefined;
	}
}

function safeJson(value: unknown): string {
	try {
		return JSON.stringify(value) ?? String(value);
	} catch {
		return String(value);
	}
}

let current: RunningAttempt | undefined;

async function main(): Promise<void> {
	const entries = process.argv.slice(2);
	let tasks: Map<string, Task>;
	try {
		tasks = await loadTasks(entries);
	} catch (error) {
		send({ type: "load-failed", error: wireError(error, false) });
		process.disconnect?.();
		process.exitCode = 1;
		return;
	}
	process.on("message", (message: ToChild) => {
		switch (message.type) {
			case "index":
				send({ type: "indexed", tasks: [...tasks.values()].map(indexedTask) });
				break;
			case "run":
				void runAttempt(tasks, message.assignment).then(send);
				break;
			case "resume":
				current?.resumeWith(message.outcome);
				break;
			case "wait-failed":
				current?.failWait(message.error);
				break;
		}
	});
	// Without its worker the child has nothing to report to.
	process.on("disconnect", () => process.exit(0));
	send({ type: "loaded" });
}

await main();
