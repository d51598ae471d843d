import { fromBinary } from "@bufbuild/protobuf";
import {
	type ParentRef,
	ParentRefSchema,
	TriggerOptionsSchema,
	type TriggerRunRequest,
	TriggerRunRequestSchema,
	type TriggerRunsRequest,
	TriggerRunsRequestSchema,
	type TriggerStreamRequest,
	TriggerStreamRequestSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	enter,
	LENGTH_DELIMITED,
	leave,
	NOT_HANDLED,
	ProtoReader,
	tagOf,
	text,
	VARINT,
} from "../../../../packages/protobuf-wire/src/index.js";

/**
 * TriggerRuns and TriggerStream requests decoded by hand: a batch's items reach
 * the scheduler a thousand runs per TriggerRuns call, and protobuf-es's
 * reflection-based fromBinary (a reflection wrapper, field lookups and zero
 * messages for every run) was its largest decoding cost and a good part of its
 * garbage. The objects are those protobuf-es builds (trigger-decoding.test.ts
 * compares them); a run's options, when present, are still read by protobuf-es
 * (many fields, and most runs have none). Anything outside the shape clients send
 * (an unknown field, a submessage given twice, text that is not UTF-8, truncated
 * bytes) is left to protobuf-es whole, so its answer, or its error, is the one given.
 */
export function decodeTriggerRunsRequest(bytes: Uint8Array): TriggerRunsRequest {
	return triggerRunsOf(bytes) ?? fromBinary(TriggerRunsRequestSchema, bytes);
}

/** A TriggerRuns request read by hand; undefined for protobuf-es to read. */
export function triggerRunsOf(bytes: Uint8Array): TriggerRunsRequest | undefined {
	try {
		const r = new ProtoReader(bytes);
		const request: TriggerRunsRequest = {
			$typeName: "taskmesh.scheduler.v1.TriggerRunsRequest",
			environmentId: "",
			runs: [],
			batchId: "",
			firstIndex: 0,
			summaryOnly: false,
		};
		while (r.more()) {
			switch (r.uint32()) {
				case RUNS_ENVIRONMENT_ID:
					request.environmentId = text(r);
					break;
				case RUNS:
					request.runs.push(triggerRunRequest(r));
					break;
				case RUNS_BATCH_ID:
					request.batchId = text(r);
					break;
				case RUNS_FIRST_INDEX:
					request.firstIndex = r.uint32();
					break;
				case RUNS_SUMMARY_ONLY:
					request.summaryOnly = r.int64() !== 0n;
					break;
				default:
					throw NOT_HANDLED;
			}
		}
		return request;
	} catch {
		return undefined;
	}
}

/** A TriggerStream request (one run), decoded as decodeTriggerRunsRequest is. */
export function decodeTriggerStreamRequest(bytes: Uint8Array): TriggerStreamRequest {
	try {
		const r = new ProtoReader(bytes);
		const request: TriggerStreamRequest = { $typeName: "taskmesh.scheduler.v1.TriggerStreamRequest" };
		while (r.more()) {
			if (r.uint32() !== STREAM_RUN || request.run !== undefined) throw NOT_HANDLED;
			request.run = triggerRunRequest(r);
		}
		return request;
	} catch {
		return fromBinary(TriggerStreamRequestSchema, bytes);
	}
}

const RUNS_ENVIRONMENT_ID = tagOf(TriggerRunsRequestSchema.field.environmentId, LENGTH_DELIMITED);
const RUNS = tagOf(TriggerRunsRequestSchema.field.runs, LENGTH_DELIMITED);
const RUNS_BATCH_ID = tagOf(TriggerRunsRequestSchema.field.batchId, LENGTH_DELIMITED);
const RUNS_FIRST_INDEX = tagOf(TriggerRunsRequestSchema.field.firstIndex, VARINT);
const RUNS_SUMMARY_ONLY = tagOf(TriggerRunsRequestSchema.field.summaryOnly, VARINT);
const STREAM_RUN = tagOf(TriggerStreamRequestSchema.field.run, LENGTH_DELIMITED);
const RUN = TriggerRunRequestSchema.field;
const ENVIRONMENT_ID = tagOf(RUN.environmentId, LENGTH_DELIMITED);
const TASK_ID = tagOf(RUN.taskId, LENGTH_DELIMITED);
const PAYLOAD = tagOf(RUN.payload, LENGTH_DELIMITED);
const PAYLOAD_TYPE = tagOf(RUN.payloadType, LENGTH_DELIMITED);
const OPTIONS = tagOf(RUN.options, LENGTH_DELIMITED);
const PARENT = tagOf(RUN.parent, LENGTH_DELIMITED);
const PARENT_RUN_ID = tagOf(ParentRefSchema.field.runId, LENGTH_DELIMITED);
const PARENT_ATTEMPT_ID = tagOf(ParentRefSchema.field.attemptId, LENGTH_DELIMITED);
const PARENT_WAIT = tagOf(ParentRefSchema.field.wait, VARINT);

function triggerRunRequest(r: ProtoReader): TriggerRunRequest {
	const outer = enter(r);
	const run: TriggerRunRequest = {
		$typeName: "taskmesh.scheduler.v1.TriggerRunRequest",
		environmentId: "",
		taskId: "",
		payload: EMPTY,
		payloadType: "",
	};
	let payload: Uint8Array | undefined;
	while (r.more()) {
		switch (r.uint32()) {
			case ENVIRONMENT_ID:
				run.environmentId = text(r);
				break;
			case TASK_ID:
				run.taskId = text(r);
				break;
			case PAYLOAD:
				payload = r.bytes();
				break;
			case PAYLOAD_TYPE:
				run.payloadType = text(r);
				break;
			case OPTIONS:
				// A second occurrence of a submessage merges into the first: protobuf-es's job.
				if (run.options !== undefined) throw NOT_HANDLED;
				run.options = fromBinary(TriggerOptionsSchema, r.bytes());
				break;
			case PARENT:
				if (run.parent !== undefined) throw NOT_HANDLED;
				run.parent = parentRef(r);
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	// protobuf-es gives each run without a payload its own empty array.
	run.payload = payload ?? new Uint8Array(0);
	leave(r, outer);
	return run;
}

function parentRef(r: ProtoReader): ParentRef {
	const outer = enter(r);
	const parent: ParentRef = {
		$typeName: "taskmesh.scheduler.v1.ParentRef",
		runId: "",
		attemptId: "",
		wait: false,
	};
	while (r.more()) {
		switch (r.uint32()) {
			case PARENT_RUN_ID:
				parent.runId = text(r);
				break;
			case PARENT_ATTEMPT_ID:
				parent.attemptId = text(r);
				break;
			case PARENT_WAIT:
				parent.wait = r.int64() !== 0n;
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	leave(r, outer);
	return parent;
}

/** Stands in for the payload until the run's fields are read. */
const EMPTY = new Uint8Array(0);
