import type { TriggerItem } from "./trigger-options.js";

/** What a running attempt knows about itself, passed to `run` as `ctx`. */
export interface TaskContext {
	run: { id: string; tags: string[]; isReplay: boolean; batchId: string; parentRunId: string };
	attempt: { id: string; number: number };
	task: { id: string };
	environment: { id: string };
	machine: { name: string; cpu: number; memoryGb: number };
}

/** One wait a task asks for. */
export type WaitRequest =
	| { kind: "child"; item: TriggerItem }
	| { kind: "batch"; items: TriggerItem[] }
	| { kind: "duration"; ms: number }
	| { kind: "until"; at: number };

/** The outcome of one awaited run, still in wire form. */
export interface AwaitedRun {
	runId: string;
	ok: boolean;
	output: Uint8Array;
	outputType: string;
	error?: { name: string; message: string; code: string; stackTrace: string };
}

/** What a wait resolves with: the awaited runs (none for a time wait) and its batch id. */
export interface WaitOutcome {
	runs: AwaitedRun[];
	batchId: string;
	error?: { name: string; message: string; code: string; stackTrace: string };
}

/** The hooks a worker's child process installs while it runs an attempt. */
export interface AttemptRuntime {
	ctx: TaskContext;
	/** Begins a wait through the worker; resolves once the platform resumes the run. */
	wait(request: WaitRequest): Promise<WaitOutcome>;
	/** Ships one log message of the attempt. */
	log(level: LogLevelName, message: string, attributes: Record<string, unknown>): void;
}

/** Level names of `logger`. */
export type LogLevelName = "debug" | "info" | "warn" | "error";

const SLOT = Symbol.for("taskmesh.sdk.attemptRuntime");

/** The runtime of the attempt this process is running, if any. */
export function currentAttempt(): AttemptRuntime | undefined {
	return (globalThis as unknown as Record<symbol, AttemptRuntime | undefined>)[SLOT];
}

/** Installs (or clears) the attempt runtime; called by the worker's child process only. */
export function setCurrentAttempt(runtime: AttemptRuntime | undefined): void {
	(globalThis as unknown as Record<symbol, AttemptRuntime | undefined>)[SLOT] = runtime;
}
