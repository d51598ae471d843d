import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { type Duration, durationFromMs, durationMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type {
	MachineSchema,
	RetryPolicy,
	RetryPolicySchema,
	TaskError,
	TaskErrorSchema,
} from "../../../../gen/taskmesh/common/v1/common_pb.js";
import {
	type AttemptSchema,
	AttemptStatus,
	type DeploymentSchema,
	type RunSchema,
	RunStatus,
	type ScheduleSchema,
	type TaskDefinition as TaskDefinitionProto,
	type TaskDefinitionSchema,
	type WaitForResumeResponseSchema,
	type WaitSchema,
	type WorkerSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { ServiceError } from "../../../kit/src/index.js";
import type { DeploymentRecord } from "../core/deployments.js";
import type { MachineRequest } from "../core/machine-presets.js";
import type { RetrySettings } from "../core/retry-delay.js";
import type { RunOutcome } from "../core/run-reads.js";
import type {
	AttemptRecord,
	RunStatus as CoreRunStatus,
	RunRecord,
	TaskErrorInfo,
	WaitRecord,
} from "../core/run-types.js";
import type { ScheduleRecord } from "../core/schedules.js";
import type { TaskDefinition } from "../core/task-catalog.js";
import type { WorkerRecord } from "../core/workers.js";

/** Milliseconds of an optional duration (negative values are kept so validation can name them). */
export function msOf(d: Duration | undefined): number | undefined {
	return d === undefined ? undefined : durationMs(d);
}

/** A proto timestamp of an optional date. */
export function ts(date: Date | null | undefined) {
	return date === null || date === undefined ? undefined : timestampFromDate(date);
}

/** Core status -> proto enum. */
export function runStatusToProto(status: CoreRunStatus): RunStatus {
	return RunStatus[status];
}

/**
 * Proto enum -> core status; INVALID_ARGUMENT naming `field` for a number the enum
 * does not have (open enums let any int32 through; unchecked, a ListRuns filter of 99
 * matched nothing and a wait result of 99 was stored). UNSPECIFIED is the caller's.
 */
export function runStatusFromProto(status: RunStatus, field: string): CoreRunStatus {
	const name = RunStatus[status];
	if (name === undefined) {
		throw ServiceError.invalidField(
			field,
			`${status} is not a run status (expected ${RunStatus.DELAYED} to ${RunStatus.TIMED_OUT})`,
		);
	}
	return name as CoreRunStatus;
}

/** Core error -> proto. */
export function taskErrorToProto(
	e: TaskErrorInfo | null,
): MessageInitShape<typeof TaskErrorSchema> | undefined {
	return e === null ? undefined : { ...e };
}

/** Proto error -> core. */
export function taskErrorFromProto(e: TaskError): TaskErrorInfo {
	return { name: e.name, message: e.message, stackTrace: e.stackTrace, code: e.code, retryable: e.retryable };
}

/** Proto machine -> core request. */
export function machineFromProto(
	m:
		| {
				kind:
					| { case: "preset"; value: string }
					| { case: "custom"; value: { cpu: number; memoryGb: number } }
					| { case: undefined };
		  }
		| undefined,
): MachineRequest | undefined {
	if (m === undefined || m.kind.case === undefined) return undefined;
	if (m.kind.case === "preset") return { preset: m.kind.value };
	return { cpu: m.kind.value.cpu, memoryGb: m.kind.value.memoryGb };
}

function machineToProto(m: MachineRequest | undefined): MessageInitShape<typeof MachineSchema> | undefined {
	if (m === undefined) return undefined;
	return "preset" in m
		? { kind: { case: "preset", value: m.preset } }
		: { kind: { case: "custom", value: { cpu: m.cpu, memoryGb: m.memoryGb } } };
}

/** Proto retry policy -> the fields it sets (zero values mean unset). */
export function retryFromProto(r: RetryPolicy | undefined): Partial<RetrySettings> | undefined {
	if (r === undefined) return undefined;
	const out: Partial<RetrySettings> = {};
	if (r.maxAttempts !== 0) out.maxAttempts = r.maxAttempts;
	if (r.factor !== 0) out.factor = r.factor;
	if (r.minTimeout !== undefined) out.minTimeoutMs = durationMs(r.minTimeout);
	if (r.maxTimeout !== undefined) out.maxTimeoutMs = durationMs(r.maxTimeout);
	if (r.randomize) out.randomize = true;
	return out;
}

function retryToProto(
	r: Partial<RetrySettings> | undefined,
): MessageInitShape<typeof RetryPolicySchema> | undefined {
	if (r === undefined) return undefined;
	return {
		maxAttempts: r.maxAttempts ?? 0,
		factor: r.factor ?? 0,
		...(r.minTimeoutMs === undefined ? {} : { minTimeout: durationFromMs(r.minTimeoutMs) }),
		...(r.maxTimeoutMs === undefined ? {} : { maxTimeout: durationFromMs(r.maxTimeoutMs) }),
		randomize: r.randomize ?? false,
	};
}

function optionalDuration(ms: number) {
	return ms > 0 ? durationFromMs(ms) : undefined;
}

/** A run with only what a bulk caller that asked for summaries reads (TriggerRuns summary_only). */
export function runSummaryToProto(run: RunRecord): MessageInitShape<typeof RunSchema> {
	return {
		id: run.id,
		status: runStatusToProto(run.status),
		cached: run.cached,
		batchId: run.batchId,
		batchIndex: run.batchIndex,
	};
}

/** A run with only its outcome (GetRuns outcome_only). */
export function runOutcomeToProto(run: RunOutcome): MessageInitShape<typeof RunSchema> {
	return {
		id: run.id,
		status: runStatusToProto(run.status),
		output: run.output ?? new Uint8Array(),
		outputType: run.outputType,
		error: taskErrorToProto(run.error),
		batchId: run.batchId,
		batchIndex: run.batchIndex,
	};
}

/** Core run -> proto. */
export function runToProto(run: RunRecord): MessageInitShape<typeof RunSchema> {
	const o = run.options;
	return {
		id: run.id,
		environmentId: run.environmentId,
		taskId: run.taskId,
		status: runStatusToProto(run.status),
		payload: run.payload,
		payloadType: run.payloadType,
		output: run.output ?? new Uint8Array(),
		outputType: run.outputType,
		error: taskErrorToProto(run.error),
		options: {
			queue: o.queue,
			concurrencyKey: o.concurrencyKey,
			idempotencyKey: o.idempotencyKey,
			idempotencyKeyTtl: optionalDuration(o.idempotencyKeyTtlMs),
			delay: optionalDuration(o.delayMs),
			ttl: optionalDuration(o.ttlMs),
			tags: o.tags,
			retry: retryToProto(o.retry),
			priority: o.priority,
			maxDuration: optionalDuration(o.maxDurationMs),
			...(o.metadata === null || o.metadata === undefined ? {} : { metadata: o.metadata as JsonObject }),
			machine: { kind: { case: "preset", value: o.machine } },
			deploymentVersion: o.deploymentVersion,
		},
		machine: { name: run.machine.name, cpu: run.machine.cpu, memoryGb: run.machine.memoryGb },
		attempts: (run.attempts ?? []).map(attemptToProto),
		attemptCount: run.attemptCount,
		cached: run.cached,
		parentRunId: run.parentRunId,
		rootRunId: run.rootRunId,
		batchId: run.batchId,
		batchIndex: run.batchIndex,
		replayOfRunId: run.replayOfRunId,
		deploymentVersion: run.deploymentVersion,
		scheduleId: run.scheduleId,
		createdAt: ts(run.createdAt),
		updatedAt: ts(run.updatedAt),
		delayUntil: ts(run.delayUntil),
		expiresAt: ts(run.expiresAt),
		startedAt: ts(run.startedAt),
		completedAt: ts(run.completedAt),
	};
}

/** Core attempt -> proto. */
export function attemptToProto(a: AttemptRecord): MessageInitShape<typeof AttemptSchema> {
	return {
		id: a.id,
		number: a.number,
		status: AttemptStatus[a.status],
		workerId: a.workerId,
		startedAt: ts(a.startedAt),
		completedAt: ts(a.completedAt),
		error: taskErrorToProto(a.error),
	};
}

/** Core wait -> proto: every field the Wait message carries (BeginWait's answer and each resume's). */
export function waitToProto(w: WaitRecord): MessageInitShape<typeof WaitSchema> {
	return {
		id: w.id,
		runId: w.runId,
		attemptId: w.attemptId,
		resolvedAt: ts(w.resolvedAt),
		batchId: w.batchId,
		childRunId: w.childRunId,
	};
}

/** Core wait -> the WaitForResume message. */
export function resumeToProto(w: WaitRecord): MessageInitShape<typeof WaitForResumeResponseSchema> {
	return {
		wait: waitToProto(w),
		results: w.results.map((r) => ({
			runId: r.runId,
			status: runStatusToProto(r.status),
			output: r.output ?? new Uint8Array(),
			outputType: r.outputType,
			error: taskErrorToProto(r.error),
		})),
		error: taskErrorToProto(w.error),
		resultsElided: w.resultsElided,
	};
}

/** Proto task definition -> core. */
export function taskFromProto(t: TaskDefinitionProto): TaskDefinition {
	const machine = machineFromProto(t.machine);
	const retry = retryFromProto(t.retry);
	const maxDurationMs = msOf(t.maxDuration);
	return {
		id: t.id,
		queue: t.queue,
		...(machine === undefined ? {} : { machine }),
		...(retry === undefined ? {} : { retry }),
		...(maxDurationMs === undefined ? {} : { maxDurationMs }),
		queueConcurrencyLimit: t.queueConcurrencyLimit,
		cron: t.cron,
		cronTimezone: t.cronTimezone,
	};
}

function taskToProto(t: TaskDefinition): MessageInitShape<typeof TaskDefinitionSchema> {
	return {
		id: t.id,
		queue: t.queue,
		machine: machineToProto(t.machine),
		retry: retryToProto(t.retry),
		maxDuration: t.maxDurationMs === undefined ? undefined : durationFromMs(t.maxDurationMs),
		queueConcurrencyLimit: t.queueConcurrencyLimit,
		cron: t.cron,
		cronTimezone: t.cronTimezone,
	};
}

/** Core deployment -> proto. */
export function deploymentToProto(d: DeploymentRecord): MessageInitShape<typeof DeploymentSchema> {
	return {
		id: d.id,
		environmentId: d.environmentId,
		version: d.version,
		tasks: d.tasks.map(taskToProto),
		current: d.current,
		createdAt: ts(d.createdAt),
		promotedAt: ts(d.promotedAt),
	};
}

/** Core worker -> proto. */
export function workerToProto(w: WorkerRecord): MessageInitShape<typeof WorkerSchema> {
	return {
		id: w.id,
		environmentId: w.environmentId,
		deploymentVersion: w.deploymentVersion,
		taskIds: w.taskIds,
		capacity: w.capacity,
		allocated: w.allocated,
		lastHeartbeatAt: ts(w.lastHeartbeatAt),
	};
}

/** Core schedule -> proto. */
export function scheduleToProto(s: ScheduleRecord): MessageInitShape<typeof ScheduleSchema> {
	return {
		id: s.id,
		environmentId: s.environmentId,
		taskId: s.taskId,
		cron: s.cron,
		timezone: s.timezone,
		deduplicationKey: s.deduplicationKey,
		externalId: s.externalId,
		active: s.active,
		nextRunAt: ts(s.nextRunAt),
		lastRunAt: ts(s.lastRunAt),
		createdAt: ts(s.createdAt),
	};
}
