import { fromJson, type JsonValue, type Message, toBinary } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { AttemptStatus, RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	boolField,
	bytesField,
	doubleField,
	int32Field,
	LENGTH_DELIMITED,
	messageField,
	ProtoWriter,
	repeatedMessageField,
	secondsAndNanosField,
	stringField,
	taskErrorField,
	timestampField,
	VARINT,
} from "../../../../packages/protobuf-wire/src/index.js";
import type { RetrySettings } from "../core/retry-delay.js";
import type { RunOutcome } from "../core/run-reads.js";
import type { AttemptRecord, RunRecord } from "../core/run-types.js";

/**
 * taskmesh.scheduler.v1.Run written field by field, to the bytes toBinary writes for create(RunSchema, runToProto(run))
 * (run-encoding.test.ts compares the two). Every run answered by TriggerRun,
 * StartAttempt and CompleteAttempt went through create() and the reflection-based
 * encoder, which walked each field of the schema and copied the run into new
 * messages first: about a tenth of the scheduler's CPU per run. Only the rare
 * metadata Struct goes through toBinary here.
 */
export function encodeRun(run: RunRecord): Uint8Array {
	const w = new ProtoWriter(sizeHintOf(run));
	writeRun(w, run);
	return w.finish();
}

/**
 * A response message whose field 1 is `run`: the run goes as that field's encoded
 * bytes in $unknown, which toBinary writes through as they are (tag 1, length,
 * run), so the wire carries exactly the field the contract defines.
 */
export function withRun<T extends Message>(response: T, run: RunRecord): T {
	return withRunsField(response, [run], sizeHintOf(run), writeRun);
}

/**
 * Runs as a response's repeated field 1 (`runs` of TriggerRunsResponse and
 * GetRunsResponse), in $unknown: each run summed up as runSummaryToProto does
 * (TriggerRuns summary_only) or as its outcome as runOutcomeToProto does
 * (GetRuns outcome_only). A batch's thousand runs per call were encoded through
 * create() and the reflection-based encoder, a zero Run of 27 fields built for
 * each: most of the scheduler's remaining CPU per batch item.
 */
export function withRunSummaries<T extends Message>(response: T, runs: readonly RunRecord[]): T {
	return withRunsField(response, runs, 64 * runs.length, writeRunSummary);
}

/** As withRunSummaries, each run as its outcome (GetRuns outcome_only). */
export function withRunOutcomes<T extends Message>(response: T, runs: readonly RunOutcome[]): T {
	let sizeHint = 0;
	for (const run of runs) sizeHint += 96 + (run.output?.byteLength ?? 0);
	return withRunsField(response, runs, sizeHint, writeRunOutcome);
}

/** Sets the response's field 1 to these runs, each written by `write`. */
function withRunsField<T extends Message, R>(
	response: T,
	runs: readonly R[],
	sizeHint: number,
	write: (w: ProtoWriter, run: R) => void,
): T {
	const field = repeatedMessageField(1, runs, sizeHint, write);
	if (field !== undefined) response.$unknown = [field];
	return response;
}

function writeRunSummary(w: ProtoWriter, run: RunRecord): void {
	stringField(w, 1, run.id);
	int32Field(w, 4, RunStatus[run.status]);
	boolField(w, 14, run.cached);
	stringField(w, 17, run.batchId);
	if (run.batchIndex !== 0) w.tag(27, VARINT).uint(run.batchIndex);
}

function writeRunOutcome(w: ProtoWriter, run: RunOutcome): void {
	stringField(w, 1, run.id);
	int32Field(w, 4, RunStatus[run.status]);
	bytesField(w, 7, run.output ?? EMPTY);
	stringField(w, 8, run.outputType);
	if (run.error !== null) taskErrorField(w, 9, run.error);
	stringField(w, 17, run.batchId);
	if (run.batchIndex !== 0) w.tag(27, VARINT).uint(run.batchIndex);
}

const EMPTY = new Uint8Array(0);

/** A buffer size that holds the whole run in the common case. */
function sizeHintOf(run: RunRecord): number {
	return 256 + run.payload.byteLength + (run.output?.byteLength ?? 0);
}

function writeRun(w: ProtoWriter, run: RunRecord): void {
	stringField(w, 1, run.id);
	stringField(w, 2, run.environmentId);
	stringField(w, 3, run.taskId);
	int32Field(w, 4, RunStatus[run.status]);
	bytesField(w, 5, run.payload);
	stringField(w, 6, run.payloadType);
	if (run.output !== null) bytesField(w, 7, run.output);
	stringField(w, 8, run.outputType);
	if (run.error !== null) taskErrorField(w, 9, run.error);
	messageField(w, 10, () => writeOptions(w, run.options));
	messageField(w, 11, () => {
		stringField(w, 1, run.machine.name);
		doubleField(w, 2, run.machine.cpu);
		doubleField(w, 3, run.machine.memoryGb);
	});
	for (const a of run.attempts ?? []) messageField(w, 12, () => writeAttempt(w, a));
	int32Field(w, 13, run.attemptCount);
	boolField(w, 14, run.cached);
	stringField(w, 15, run.parentRunId);
	stringField(w, 16, run.rootRunId);
	stringField(w, 17, run.batchId);
	stringField(w, 18, run.replayOfRunId);
	stringField(w, 19, run.deploymentVersion);
	stringField(w, 20, run.scheduleId);
	timestamp(w, 21, run.createdAt);
	timestamp(w, 22, run.updatedAt);
	timestamp(w, 23, run.delayUntil);
	timestamp(w, 24, run.expiresAt);
	timestamp(w, 25, run.startedAt);
	timestamp(w, 26, run.completedAt);
	if (run.batchIndex !== 0) w.tag(27, VARINT).uint(run.batchIndex);
}

/** TriggerOptions as runToProto fills it: the stored options, the machine as a preset. */
function writeOptions(w: ProtoWriter, o: RunRecord["options"]): void {
	stringField(w, 1, o.queue);
	stringField(w, 2, o.concurrencyKey);
	stringField(w, 3, o.idempotencyKey);
	positiveDuration(w, 4, o.idempotencyKeyTtlMs);
	positiveDuration(w, 5, o.delayMs);
	positiveDuration(w, 6, o.ttlMs);
	for (const tag of o.tags ?? []) w.tag(7, LENGTH_DELIMITED).string(tag);
	if (o.retry !== undefined) messageField(w, 8, () => writeRetry(w, o.retry));
	int32Field(w, 9, o.priority);
	positiveDuration(w, 10, o.maxDurationMs);
	if (o.metadata !== null && o.metadata !== undefined) {
		w.tag(11, LENGTH_DELIMITED).bytes(
			toBinary(StructSchema, fromJson(StructSchema, o.metadata as JsonValue)),
		);
	}
	// A oneof member is written even when empty.
	messageField(w, 12, () => w.tag(1, LENGTH_DELIMITED).string(o.machine));
	stringField(w, 13, o.deploymentVersion);
}

function writeRetry(w: ProtoWriter, r: Partial<RetrySettings>): void {
	int32Field(w, 1, r.maxAttempts ?? 0);
	doubleField(w, 2, r.factor ?? 0);
	if (r.minTimeoutMs !== undefined) duration(w, 3, r.minTimeoutMs);
	if (r.maxTimeoutMs !== undefined) duration(w, 4, r.maxTimeoutMs);
	boolField(w, 5, r.randomize === true);
}

/** taskmesh.scheduler.v1.Attempt, as attemptToProto fills it. */
function writeAttempt(w: ProtoWriter, a: AttemptRecord): void {
	stringField(w, 1, a.id);
	int32Field(w, 2, a.number);
	int32Field(w, 3, AttemptStatus[a.status]);
	stringField(w, 4, a.workerId);
	timestamp(w, 5, a.startedAt);
	timestamp(w, 6, a.completedAt);
	if (a.error !== null) taskErrorField(w, 7, a.error);
}

/** google.protobuf.Timestamp, as timestampFromDate makes it; nothing for no date. */
function timestamp(w: ProtoWriter, field: number, date: Date | null | undefined): void {
	if (date !== null && date !== undefined) timestampField(w, field, date.getTime());
}

function positiveDuration(w: ProtoWriter, field: number, ms: number): void {
	if (ms > 0) duration(w, field, ms);
}

/** google.protobuf.Duration, as durationFromMs makes it. */
function duration(w: ProtoWriter, field: number, ms: number): void {
	const sign = ms < 0 ? -1 : 1;
	const abs = Math.abs(ms);
	const seconds = Math.floor(abs / 1000);
	const nanos = (abs - seconds * 1000) * 1_000_000;
	secondsAndNanosField(w, field, seconds * sign, nanos === 0 ? 0 : nanos * sign);
}
