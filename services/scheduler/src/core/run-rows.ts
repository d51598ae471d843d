import type { RetrySettings } from "./retry-delay.js";
import type { RunMessage } from "./run-queue.js";
import type {
	AttemptRecord,
	AttemptStatus,
	RunRecord,
	RunStatus,
	StoredOptions,
	TaskErrorInfo,
	WaitRecord,
	WaitResultRecord,
} from "./run-types.js";
import { type OptionsDocument, storedOptionsOf } from "./stored-options.js";

/** A row of the runs table as pg returns it. */
export interface RunRow {
	id: string;
	environment_id: string;
	task_id: string;
	status: RunStatus;
	payload: Buffer;
	payload_type: string;
	output: Buffer | null;
	output_type: string | null;
	error: TaskErrorInfo | null;
	/** Only what the other columns cannot give back (see stored-options.ts); read it through runFromRow. */
	options: OptionsDocument | StoredOptions;
	queue: string;
	concurrency_key: string;
	priority: number;
	tags: string[];
	machine_name: string;
	cpu: number;
	memory_gb: number;
	max_attempts: number;
	retry: RetrySettings;
	max_duration_ms: string | number | null;
	ttl_ms: string | number | null;
	attempt_count: number;
	queue_seq: number;
	queue_receipt: string | null;
	queue_consumer_id: string | null;
	worker_id: string | null;
	current_attempt_id: string | null;
	resume_attempt_id: string | null;
	parent_run_id: string | null;
	parent_attempt_id: string | null;
	root_run_id: string;
	batch_id: string | null;
	batch_index: number | null;
	replay_of_run_id: string | null;
	deployment_version: string;
	schedule_id: string | null;
	created_at: Date;
	updated_at: Date;
	delay_until: Date | null;
	expires_at: Date | null;
	started_at: Date | null;
	deadline_at: Date | null;
	completed_at: Date | null;
}

/** The core's view of a run row. */
export function runFromRow(row: RunRow, cached = false): RunRecord {
	return {
		id: row.id,
		environmentId: row.environment_id,
		taskId: row.task_id,
		status: row.status,
		payload: row.payload,
		payloadType: row.payload_type,
		output: row.output,
		outputType: row.output_type ?? "",
		error: row.error,
		options: storedOptionsOf(row),
		machine: { name: row.machine_name, cpu: row.cpu, memoryGb: row.memory_gb },
		attemptCount: row.attempt_count,
		cached,
		parentRunId: row.parent_run_id ?? "",
		rootRunId: row.root_run_id,
		batchId: row.batch_id ?? "",
		batchIndex: row.batch_index ?? 0,
		replayOfRunId: row.replay_of_run_id ?? "",
		deploymentVersion: row.deployment_version,
		scheduleId: row.schedule_id ?? "",
		createdAt: row.created_at,
		updatedAt: row.updated_at,
		delayUntil: row.delay_until,
		expiresAt: row.expires_at,
		startedAt: row.started_at,
		completedAt: row.completed_at,
	};
}

/** The columns a run's queue message is made of. */
export type MessageColumns = Pick<
	RunRow,
	| "id"
	| "environment_id"
	| "queue"
	| "concurrency_key"
	| "priority"
	| "cpu"
	| "memory_gb"
	| "task_id"
	| "queue_seq"
	| "attempt_count"
	| "resume_attempt_id"
>;

/** The queue message for the run's current queue step (a new attempt or a resumption). */
export function messageFor(row: MessageColumns): RunMessage {
	return {
		id: `${row.id}:${row.queue_seq}`,
		environmentId: row.environment_id,
		queue: row.queue,
		concurrencyKey: row.concurrency_key,
		priority: row.priority,
		cpu: row.cpu,
		memoryGb: row.memory_gb,
		runId: row.id,
		taskId: row.task_id,
		attempt: row.resume_attempt_id === null ? row.attempt_count + 1 : row.attempt_count,
	};
}

/** A row of the attempts table. */
export interface AttemptRow {
	id: string;
	run_id: string;
	number: number;
	status: AttemptStatus;
	worker_id: string;
	started_at: Date;
	completed_at: Date | null;
	error: TaskErrorInfo | null;
}

/** The core's view of an attempt row. */
export function attemptFromRow(row: AttemptRow): AttemptRecord {
	return {
		id: row.id,
		number: row.number,
		status: row.status,
		workerId: row.worker_id,
		startedAt: row.started_at,
		completedAt: row.completed_at,
		error: row.error,
	};
}

/** A wait result as stored in JSON (bytes as base64). */
export interface StoredWaitResult {
	runId: string;
	status: RunStatus;
	output: string | null;
	outputType: string;
	error: TaskErrorInfo | null;
}

/** The stored result of a final run, for the waits on it. */
export function waitResultOf(row: RunRow): StoredWaitResult {
	return {
		runId: row.id,
		status: row.status,
		output: row.output === null ? null : row.output.toString("base64"),
		outputType: row.output_type ?? "",
		error: row.error,
	};
}

/** A row of the waits table. */
export interface WaitRow {
	id: string;
	run_id: string;
	attempt_id: string;
	status: "PENDING" | "RESOLVED" | "CANCELED";
	resolved_at: Date | null;
	results: StoredWaitResult[] | null;
	error: TaskErrorInfo | null;
	batch_id: string | null;
	child_run_id: string | null;
}

/** The core's view of a wait row. */
export function waitFromRow(row: WaitRow): WaitRecord {
	const results: WaitResultRecord[] = (row.results ?? []).map((r) => ({
		runId: r.runId,
		status: r.status,
		output: r.output === null ? null : Buffer.from(r.output, "base64"),
		outputType: r.outputType,
		error: r.error,
	}));
	return {
		id: row.id,
		runId: row.run_id,
		attemptId: row.attempt_id,
		status: row.status,
		resolvedAt: row.resolved_at,
		results,
		error: row.error,
		batchId: row.batch_id ?? "",
		childRunId: row.child_run_id ?? "",
		resultsElided: false,
	};
}
