import { fromJson, type JsonValue, type Message, toBinary } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { AttemptStatus, RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { RetrySettings } from "../core/retry-delay.js";
import type { AttemptRecord, RunRecord, TaskErrorInfo } from "../core/run-types.js";
import { ProtoWriter } from "./proto-writer.js";

/** Wire types. */
const VARINT = 0;
const BIT64 = 1;
const LENGTH_DELIMITED = 2;

/**
 * taskmesh.scheduler.v1.Run written field by field, to the bytes toBinary writes for create(RunSchema, runToProto(run))
 * (run-encoding.test.ts compares the two). Every run answered by TriggerRun,
 * StartAttempt and CompleteAttempt went through create() and the reflection-based
 * encoder, which walked each field of the schema and copied the run into new
 * messages first: about a tenth of the scheduler's CPU per run. Only the rare
 * metadata Struct goes through toBinary here.
 */
export function encodeRun(run: RunRecord): Uint8Array {
	const w = writerFor(run);
	writeRun(w, run);
	return w.finish();
}

/**
 * A response message whose field 1 is `run`: the run goes as that field's encoded
 * bytes in $unknown, which toBinary writes through as they are (tag 1, length,
 * run), so the wire carries exactly the field the contract defines.
 */
export function withRun<T extends Message>(response: T, run: RunRecord): T {
	const w = writerFor(run);
	w.begin();
	writeRun(w, run);
	w.end();
	response.$unknown = [{ no: 1, wireType: LENGTH_DELIMITED, data: w.finish() }];
	return response;
}

/** A writer whose first buffer holds the whole run in the common case. */
function writerFor(run: RunRecord): ProtoWriter {
	return new ProtoWriter(256 + run.payload.byteLength + (run.output?.byteLength ?? 0));
}

function writeRun(w: ProtoWriter, run: RunRecord): void {
	str(w, 1, run.id);
	str(w, 2, run.environmentId);
	str(w, 3, run.taskId);
	enumField(w, 4, RunStatus[run.status]);
	bytes(w, 5, run.payload);
	str(w, 6, run.payloadType);
	if (run.output !== null) bytes(w, 7, run.output);
	str(w, 8, run.outputType);
	if (run.error !== null) message(w, 9, () => writeTaskError(w, run.error as TaskErrorInfo));
	message(w, 10, () => writeOptions(w, run.options));
	message(w, 11, () => {
		str(w, 1, run.machine.name);
		double(w, 2, run.machine.cpu);
		double(w, 3, run.machine.memoryGb);
	});
	for (const a of run.attempts ?? []) message(w, 12, () => writeAttempt(w, a));
	int32(w, 13, run.attemptCount);
	if (run.cached) w.tag(14, VARINT).uint(1);
	str(w, 15, run.parentRunId);
	str(w, 16, run.rootRunId);
	str(w, 17, run.batchId);
	str(w, 18, run.replayOfRunId);
	str(w, 19, run.deploymentVersion);
	str(w, 20, run.scheduleId);
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
	str(w, 1, o.queue);
	str(w, 2, o.concurrencyKey);
	str(w, 3, o.idempotencyKey);
	positiveDuration(w, 4, o.idempotencyKeyTtlMs);
	positiveDuration(w, 5, o.delayMs);
	positiveDuration(w, 6, o.ttlMs);
	for (const tag of o.tags ?? []) w.tag(7, LENGTH_DELIMITED).string(tag);
	if (o.retry !== undefined) message(w, 8, () => writeRetry(w, o.retry));
	int32(w, 9, o.priority);
	positiveDuration(w, 10, o.maxDurationMs);
	if (o.metadata !== null && o.metadata !== undefined) {
		w.tag(11, LENGTH_DELIMITED).bytes(
			toBinary(StructSchema, fromJson(StructSchema, o.metadata as JsonValue)),
		);
	}
	// A oneof member is written even when empty.
	message(w, 12, () => w.tag(1, LENGTH_DELIMITED).string(o.machine));
	str(w, 13, o.deploymentVersion);
}

function writeRetry(w: ProtoWriter, r: Partial<RetrySettings>): void {
	int32(w, 1, r.maxAttempts ?? 0);
	double(w, 2, r.factor ?? 0);
	if (r.minTimeoutMs !== undefined) duration(w, 3, r.minTimeoutMs);
	if (r.maxTimeoutMs !== undefined) duration(w, 4, r.maxTimeoutMs);
	if (r.randomize === true) w.tag(5, VARINT).uint(1);
}

function writeTaskError(w: ProtoWriter, e: TaskErrorInfo): void {
	str(w, 1, e.name);
	str(w, 2, e.message);
	str(w, 3, e.stackTrace);
	str(w, 4, e.code);
	if (e.retryable) w.tag(5, VARINT).uint(1);
}

/** taskmesh.scheduler.v1.Attempt, as attemptToProto fills it. */
function writeAttempt(w: ProtoWriter, a: AttemptRecord): void {
	str(w, 1, a.id);
	int32(w, 2, a.number);
	enumField(w, 3, AttemptStatus[a.status]);
	str(w, 4, a.workerId);
	timestamp(w, 5, a.startedAt);
	timestamp(w, 6, a.completedAt);
	if (a.error !== null) message(w, 7, () => writeTaskError(w, a.error as TaskErrorInfo));
}

/** A length-delimited submessage: always written once present, even when empty. */
function message(w: ProtoWriter, field: number, body: () => void): void {
	w.tag(field, LENGTH_DELIMITED).begin();
	body();
	w.end();
}

function str(w: ProtoWriter, field: number, value: string | undefined): void {
	if (value === undefined || value === "") return;
	w.tag(field, LENGTH_DELIMITED).string(value);
}

function bytes(w: ProtoWriter, field: number, value: Uint8Array): void {
	if (value.byteLength === 0) return;
	w.tag(field, LENGTH_DELIMITED).bytes(value);
}

function int32(w: ProtoWriter, field: number, value: number | undefined): void {
	if (value !== undefined && value !== 0) w.tag(field, VARINT).int(value);
}

function enumField(w: ProtoWriter, field: number, value: number): void {
	if (value !== 0) w.tag(field, VARINT).int(value);
}

function double(w: ProtoWriter, field: number, value: number): void {
	// protobuf-es leaves out 0 but writes -0 (and NaN): both are "set" for a double.
	if (value === 0 && !Object.is(value, -0)) return;
	w.tag(field, BIT64).double(value);
}

/** google.protobuf.Timestamp, as timestampFromDate makes it. */
function timestamp(w: ProtoWriter, field: number, date: Date | null | undefined): void {
	if (date === null || date === undefined) return;
	const ms = date.getTime();
	const seconds = Math.floor(ms / 1000);
	secondsAndNanos(w, field, seconds, (ms - seconds * 1000) * 1_000_000);
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
	secondsAndNanos(w, field, seconds * sign, nanos === 0 ? 0 : nanos * sign);
}

function secondsAndNanos(w: ProtoWriter, field: number, seconds: number, nanos: number): void {
	w.tag(field, LENGTH_DELIMITED).begin();
	if (seconds !== 0) w.tag(1, VARINT).int(seconds);
	if (nanos !== 0) w.tag(2, VARINT).int(nanos);
	w.end();
}
