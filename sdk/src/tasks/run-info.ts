import {
	type Attempt,
	AttemptStatus,
	type Run,
	RunStatus,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { fromProtoTimestamp } from "./duration.js";
import { deserialize } from "./payload.js";

/** A run status name, such as "QUEUED", "EXECUTING" or "COMPLETED". */
export type RunStatusName = keyof typeof RunStatus;

/** The error a run or attempt ended with. */
export interface RunErrorInfo {
	name: string;
	message: string;
	code: string;
	stackTrace: string;
	retryable: boolean;
}

/** One attempt of a run. */
export interface AttemptInfo {
	id: string;
	number: number;
	status: string;
	workerId: string;
	startedAt?: Date;
	completedAt?: Date;
	error?: RunErrorInfo;
}

/** A run as the SDK shows it: payload and output decoded from JSON. */
export interface RunInfo {
	id: string;
	taskId: string;
	status: RunStatusName;
	payload: unknown;
	output: unknown;
	error?: RunErrorInfo;
	tags: string[];
	queue: string;
	machine: string;
	attemptCount: number;
	attempts: AttemptInfo[];
	isCached: boolean;
	parentRunId: string;
	rootRunId: string;
	batchId: string;
	replayOfRunId: string;
	scheduleId: string;
	createdAt?: Date;
	startedAt?: Date;
	completedAt?: Date;
}

const FINAL = new Set<RunStatus>([
	RunStatus.COMPLETED,
	RunStatus.FAILED,
	RunStatus.CANCELED,
	RunStatus.EXPIRED,
	RunStatus.CRASHED,
	RunStatus.SYSTEM_FAILURE,
	RunStatus.TIMED_OUT,
]);

/** Whether a status is final (the run will not change again). */
export function isFinalStatus(status: RunStatus): boolean {
	return FINAL.has(status);
}

/** The SDK view of a wire run. */
export function runInfoOf(run: Run): RunInfo {
	return {
		id: run.id,
		taskId: run.taskId,
		status: (RunStatus[run.status] ?? "UNSPECIFIED") as RunStatusName,
		payload: safeDecode(run.payload, run.payloadType),
		output: safeDecode(run.output, run.outputType),
		...(run.error === undefined ? {} : { error: errorInfoOf(run.error) }),
		tags: run.options?.tags ?? [],
		queue: run.options?.queue ?? "",
		machine: run.machine?.name ?? "",
		attemptCount: run.attemptCount,
		attempts: run.attempts.map(attemptInfoOf),
		isCached: run.cached,
		parentRunId: run.parentRunId,
		rootRunId: run.rootRunId,
		batchId: run.batchId,
		replayOfRunId: run.replayOfRunId,
		scheduleId: run.scheduleId,
		...dates({ createdAt: run.createdAt, startedAt: run.startedAt, completedAt: run.completedAt }),
	};
}

function attemptInfoOf(a: Attempt): AttemptInfo {
	return {
		id: a.id,
		number: a.number,
		status: AttemptStatus[a.status] ?? "UNSPECIFIED",
		workerId: a.workerId,
		...(a.error === undefined ? {} : { error: errorInfoOf(a.error) }),
		...dates({ startedAt: a.startedAt, completedAt: a.completedAt }),
	};
}

/** The SDK view of a wire task error. */
export function errorInfoOf(e: {
	name: string;
	message: string;
	code: string;
	stackTrace: string;
	retryable: boolean;
}): RunErrorInfo {
	return { name: e.name, message: e.message, code: e.code, stackTrace: e.stackTrace, retryable: e.retryable };
}

function dates<K extends string>(
	values: Record<K, { seconds: bigint; nanos: number } | undefined>,
): Partial<Record<K, Date>> {
	const out: Partial<Record<K, Date>> = {};
	for (const [k, v] of Object.entries(values) as [K, { seconds: bigint; nanos: number } | undefined][]) {
		const d = fromProtoTimestamp(v);
		if (d !== undefined) out[k] = d;
	}
	return out;
}

function safeDecode(bytes: Uint8Array, type: string): unknown {
	try {
		return deserialize(bytes, type);
	} catch {
		// A payload written by another client in a non-JSON form is shown as text.
		return new TextDecoder().decode(bytes);
	}
}
