import type { MachineRequest } from "./machine-presets.js";
import type { RetrySettings } from "./retry-delay.js";

/** Every status a run can have. */
export type RunStatus =
	| "DELAYED"
	| "QUEUED"
	| "EXECUTING"
	| "WAITING"
	| "REATTEMPTING"
	| "COMPLETED"
	| "FAILED"
	| "CANCELED"
	| "EXPIRED"
	| "CRASHED"
	| "SYSTEM_FAILURE"
	| "TIMED_OUT";

/** Statuses after which nothing changes. */
export const FINAL_STATUSES: readonly RunStatus[] = [
	"COMPLETED",
	"FAILED",
	"CANCELED",
	"EXPIRED",
	"CRASHED",
	"SYSTEM_FAILURE",
	"TIMED_OUT",
];

/** Statuses a run can still leave. */
export const LIVE_STATUSES: readonly RunStatus[] = [
	"DELAYED",
	"QUEUED",
	"EXECUTING",
	"WAITING",
	"REATTEMPTING",
];

/** True for a final status. */
export function isFinal(status: string): boolean {
	return (FINAL_STATUSES as readonly string[]).includes(status);
}

/** Every status an attempt can have. */
export type AttemptStatus = "EXECUTING" | "COMPLETED" | "FAILED" | "CANCELED" | "CRASHED" | "TIMED_OUT";

/** An error raised by a task or by the platform. */
export interface TaskErrorInfo {
	name: string;
	message: string;
	stackTrace: string;
	code: string;
	retryable: boolean;
}

/** Trigger options as a caller gives them; unset fields take defaults. */
export interface TriggerOptionsInput {
	queue?: string;
	concurrencyKey?: string;
	idempotencyKey?: string;
	idempotencyKeyTtlMs?: number;
	delayMs?: number;
	ttlMs?: number;
	tags?: string[];
	retry?: Partial<RetrySettings>;
	priority?: number;
	maxDurationMs?: number;
	metadata?: unknown;
	machine?: MachineRequest;
	deploymentVersion?: string;
}

/** One run to create. */
export interface TriggerInput {
	environmentId: string;
	taskId: string;
	payload: Uint8Array;
	payloadType: string;
	options: TriggerOptionsInput;
	parent?: { runId: string; attemptId: string; wait: boolean };
	batchId?: string;
	batchIndex?: number;
	replayOfRunId?: string;
	scheduleId?: string;
}

/** Options in force on a stored run (kept as JSON on the row). */
export interface StoredOptions {
	queue: string;
	concurrencyKey: string;
	idempotencyKey: string;
	idempotencyKeyTtlMs: number;
	delayMs: number;
	ttlMs: number;
	tags: string[];
	retry: RetrySettings;
	priority: number;
	maxDurationMs: number;
	metadata: unknown;
	machine: string;
	deploymentVersion: string;
}

/** A run as the core returns it. */
export interface RunRecord {
	id: string;
	environmentId: string;
	taskId: string;
	status: RunStatus;
	payload: Uint8Array;
	payloadType: string;
	output: Uint8Array | null;
	outputType: string;
	error: TaskErrorInfo | null;
	options: StoredOptions;
	machine: { name: string; cpu: number; memoryGb: number };
	attemptCount: number;
	cached: boolean;
	parentRunId: string;
	rootRunId: string;
	batchId: string;
	batchIndex: number;
	replayOfRunId: string;
	deploymentVersion: string;
	scheduleId: string;
	createdAt: Date;
	updatedAt: Date;
	delayUntil: Date | null;
	expiresAt: Date | null;
	startedAt: Date | null;
	completedAt: Date | null;
	attempts?: AttemptRecord[];
}

/** An attempt as the core returns it. */
export interface AttemptRecord {
	id: string;
	number: number;
	status: AttemptStatus;
	workerId: string;
	startedAt: Date;
	completedAt: Date | null;
	error: TaskErrorInfo | null;
}

/** The outcome of one awaited run. */
export interface WaitResultRecord {
	runId: string;
	status: RunStatus;
	output: Uint8Array | null;
	outputType: string;
	error: TaskErrorInfo | null;
}

/** A wait as the core returns it. */
export interface WaitRecord {
	id: string;
	runId: string;
	attemptId: string;
	status: "PENDING" | "RESOLVED" | "CANCELED";
	resolvedAt: Date | null;
	results: WaitResultRecord[];
	error: TaskErrorInfo | null;
	/** The batch waited for; "" for a wait on a run or a time. */
	batchId: string;
	/** The child run waited for; "" for a wait on a batch or a time. */
	childRunId: string;
	/** True when `results` were left out of this answer to keep it small; the reader fetches them. */
	resultsElided: boolean;
}
