import { type ChildProcess, fork } from "node:child_process";
import { EventEmitter } from "node:events";
import { fileURLToPath } from "node:url";
import type { FromChild, ToChild, WireError } from "./ipc-protocol.js";

const CHILD_ENTRY = fileURLToPath(new URL("./attempt-child.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");
const STDERR_TAIL = 16 * 1024;

/** How a child process ended. */
export interface ChildExit {
	code: number | null;
	signal: NodeJS.Signals | null;
	/** V8 reported that the heap passed its limit. */
	outOfMemory: boolean;
	/** The last bytes the child wrote to stderr. */
	stderrTail: string;
}

/** Where a child's own stdout and stderr lines go. */
export type OutputSink = (stream: "stdout" | "stderr", text: string) => void;

/**
 * One child process that runs attempts, forked with its V8 heap capped at the
 * machine preset's memory, so a task that allocates past it dies alone with a
 * heap out-of-memory error while the worker lives on.
 */
export class AttemptProcess extends EventEmitter<{ message: [FromChild]; exit: [ChildExit] }> {
	private stderrTail = "";
	private exitInfo: ChildExit | undefined;

	private constructor(
		readonly child: ChildProcess,
		readonly memoryMiB: number,
	) {
		super();
	}

	/** Forks a child for the entry files and waits until it has loaded them. */
	static async start(options: {
		entries: string[];
		memoryMiB: number;
		env?: NodeJS.ProcessEnv;
		output?: OutputSink;
	}): Promise<AttemptProcess> {
		const child = fork(CHILD_ENTRY, options.entries, {
			execArgv: ["--import", TSX, `--max-old-space-size=${Math.max(16, Math.floor(options.memoryMiB))}`],
			serialization: "advanced",
			stdio: ["ignore", "pipe", "pipe", "ipc"],
			env: { ...process.env, ...options.env },
		});
		const proc = new AttemptProcess(child, options.memoryMiB);
		child.stdout?.on("data", (d: Buffer) => options.output?.("stdout", d.toString()));
		child.stderr?.on("data", (d: Buffer) => {
			const text = d.toString();
			proc.stderrTail = (proc.stderrTail + text).slice(-STDERR_TAIL);
			options.output?.("stderr", text);
		});
		child.on("message", (m: FromChild) => proc.emit("message", m));
		child.once("exit", (code, signal) => {
			proc.exitInfo = {
				code,
				signal,
				outOfMemory: /heap out of memory|Reached heap limit|allocation failed/i.test(proc.stderrTail),
				stderrTail: proc.stderrTail,
			};
			proc.emit("exit", proc.exitInfo);
		});
		await new Promise<void>((resolve, reject) => {
			const onMessage = (m: FromChild) => {
				if (m.type === "loaded") {
					cleanup();
					resolve();
				} else if (m.type === "load-failed") {
					cleanup();
					reject(new TaskLoadError(m.error));
				}
			};
			const onExit = (exit: ChildExit) => {
				cleanup();
				reject(
					new TaskLoadError({
						name: "TaskLoadError",
						message: `the task process exited (${exit.signal ?? exit.code}) while loading: ${exit.stderrTail.trim().split("\n").slice(-3).join(" ")}`,
						stackTrace: "",
						code: "TASK_LOAD_FAILED",
						retryable: false,
					}),
				);
			};
			const cleanup = () => {
				proc.off("message", onMessage);
				proc.off("exit", onExit);
			};
			proc.on("message", onMessage);
			proc.on("exit", onExit);
		});
		return proc;
	}

	/** Whether the process has ended. */
	get exited(): ChildExit | undefined {
		return this.exitInfo;
	}

	/** Sends a message; false when the process is gone. */
	send(message: ToChild): boolean {
		if (this.exitInfo !== undefined || !this.child.connected) return false;
		this.child.send(message);
		return true;
	}

	/** Kills the process at once and resolves when it has exited. */
	async kill(): Promise<ChildExit> {
		if (this.exitInfo !== undefined) return this.exitInfo;
		const exited = new Promise<ChildExit>((resolve) => this.once("exit", resolve));
		this.child.kill("SIGKILL");
		return exited;
	}
}

/** A task file could not be loaded (it threw, or a task id is defined twice). */
export class TaskLoadError extends Error {
	override name = "TaskLoadError";
	readonly code = "TASK_LOAD_FAILED";
	constructor(readonly error: WireError) {
		super(error.message);
		this.stack = error.stackTrace || this.stack;
	}
}
