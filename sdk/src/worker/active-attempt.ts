import type { AttemptProcess, ChildExit } from "./attempt-process.js";
import type { WireError } from "./ipc-protocol.js";
import { memoryMiB } from "./worker-environment.js";

/** An attempt this worker runs or holds while it waits. */
export interface ActiveAttempt {
	runId: string;
	attemptId: string;
	attemptNumber: number;
	taskId: string;
	machine: { name: string; cpu: number; memoryGb: number };
	receipt: string;
	/** Unset while its child process is being started. */
	proc: AttemptProcess | undefined;
	startedMs: number;
	maxDurationMs: number;
	state: "running" | "suspending" | "suspended";
	suspendedAt: number;
	deadline?: NodeJS.Timeout;
	slotHeld: boolean;
	finished: boolean;
	concurrent: boolean;
	suspendedByWait: boolean;
	waitCall?: Promise<void>;
	/** The batch of the pending wait, when it is a batch wait (the resume does not carry it). */
	waitBatchId: string;
	detach: () => void;
}

/** The errors the worker itself reports for an attempt (the task did not throw them). */
export const TASK_ERRORS = {
	oom: (a: ActiveAttempt): WireError => ({
		name: "OutOfMemoryError",
		message: `the task ran out of memory: its heap passed the ${a.machine.name} preset's ${memoryMiB(a.machine.memoryGb)} MiB; give the task a larger machine`,
		stackTrace: "",
		code: "OUT_OF_MEMORY",
		retryable: false,
	}),
	crashed: (exit: ChildExit): WireError => ({
		name: "TaskProcessCrashedError",
		message: `the task process exited unexpectedly (${exit.signal ?? `code ${exit.code}`}): ${exit.stderrTail.trim().split("\n").slice(-2).join(" ")}`,
		stackTrace: "",
		code: "TASK_PROCESS_CRASHED",
		retryable: true,
	}),
	timedOut: (a: ActiveAttempt): WireError => ({
		name: "MaxDurationExceededError",
		message: `the attempt ran past its max duration of ${a.maxDurationMs / 1000} s and was stopped`,
		stackTrace: "",
		code: "MAX_DURATION_EXCEEDED",
		retryable: false,
	}),
	waitsUnreadable: (error: { message: string }): WireError => ({
		name: "ResolvedWaitsUnreadableError",
		message: `the results of this attempt's earlier waits could not be read to replay it: ${error.message}`,
		stackTrace: "",
		code: "RESOLVED_WAITS_UNREADABLE",
		retryable: true,
	}),
	shutdown: (): WireError => ({
		name: "WorkerShutdownError",
		message: "the worker shut down before the attempt finished; it is retried on another worker",
		stackTrace: "",
		code: "WORKER_SHUTDOWN",
		retryable: true,
	}),
};
