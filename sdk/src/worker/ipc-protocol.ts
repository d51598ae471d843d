import { storableTaskError } from "../../../packages/task-error/src/index.js";
import type { LogLevelName, TaskContext, WaitOutcome, WaitRequest } from "../tasks/attempt-runtime.js";

/** A task as a project declares it, sent from the indexing child to the worker. */
export interface IndexedTask {
	id: string;
	machine?: string | { cpu: number; memoryGb: number };
	retry?: {
		maxAttempts?: number;
		factor?: number;
		minTimeoutInMs?: number;
		maxTimeoutInMs?: number;
		randomize?: boolean;
	};
	queue?: { name?: string; concurrencyLimit?: number };
	maxDurationMs?: number;
	cron?: { pattern: string; timezone: string };
}

/** An error as it crosses the process boundary. */
export interface WireError {
	name: string;
	message: string;
	stackTrace: string;
	code: string;
	retryable: boolean;
}

/** One attempt the worker hands to a child. */
export interface AttemptAssignment {
	ctx: TaskContext;
	payload: Uint8Array;
	payloadType: string;
	/** Outcomes of the waits this attempt already went through, oldest first (replay). */
	resolvedWaits: WaitOutcome[];
}

/** Worker -> child. */
export type ToChild =
	| { type: "index" }
	| { type: "run"; assignment: AttemptAssignment }
	| { type: "resume"; outcome: WaitOutcome }
	| { type: "wait-failed"; error: WireError };

/** Child -> worker. */
export type FromChild =
	| { type: "loaded" }
	| { type: "load-failed"; error: WireError }
	| { type: "indexed"; tasks: IndexedTask[] }
	| { type: "wait"; request: WaitRequest }
	| { type: "concurrent-wait" }
	| { type: "log"; level: LogLevelName; message: string; attributes: Record<string, string>; time: number }
	| { type: "done"; output: Uint8Array; outputType: string }
	| { type: "failed"; error: WireError };

/**
 * An error in wire form, keeping a code and retryability when the error carries
 * them, each part cut to the scheduler's bounds (a thrown multi-megabyte message
 * would otherwise cross the IPC channel and the report whole).
 */
export function wireError(error: unknown, retryable = true): WireError {
	if (error instanceof Error) {
		const code = (error as { code?: unknown }).code;
		return storableTaskError({
			name: error.name,
			message: error.message,
			stackTrace: error.stack ?? "",
			code: typeof code === "string" ? code : "",
			retryable,
		});
	}
	return storableTaskError({ name: "Error", message: String(error), stackTrace: "", code: "", retryable });
}
