import { toBinary } from "@bufbuild/protobuf";
import {
	ParentRefSchema,
	TriggerOptionsSchema,
	TriggerRunRequestSchema,
	type TriggerRunsRequest,
	TriggerRunsRequestSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	bytesField,
	LENGTH_DELIMITED,
	ProtoWriter,
	repeatedMessageField,
	stringField,
} from "../../../../packages/protobuf-wire/src/index.js";
import type { ItemBody } from "./item-body.js";

/** The triggering run of a batch's children, when a task made the batch. */
export interface ParentOfChildren {
	runId: string;
	attemptId: string;
}

/**
 * A TriggerRuns request for a chunk of items, its `runs` written field by field
 * into $unknown (repeatedMessageField): the wire holds exactly the repeated field
 * the contract defines (trigger-runs-encoding.test.ts reads it back with
 * protobuf-es). Built through create() and encoded by reflection, a chunk's
 * thousand TriggerRunRequests were the batch service's second largest cost per
 * item. An item's options, when it has any, are encoded by protobuf-es.
 */
export function triggerRunsRequestOf(request: {
	environmentId: string;
	batchId: string;
	firstIndex: number;
	bodies: readonly ItemBody[];
	parent: ParentOfChildren | undefined;
}): TriggerRunsRequest {
	const { bodies, parent } = request;
	let sizeHint = 0;
	for (const body of bodies)
		sizeHint += 48 + body.taskId.length + body.payload.byteLength + body.payloadType.length;
	if (parent !== undefined) sizeHint += bodies.length * (8 + parent.runId.length + parent.attemptId.length);
	// The parent is the same for every run of the call: its bytes are written once.
	const parentBytes = parent === undefined ? undefined : parentRef(parent);
	const runs = repeatedMessageField(RUNS, bodies, sizeHint, (w, body) => writeRun(w, body, parentBytes));
	return {
		$typeName: "taskmesh.scheduler.v1.TriggerRunsRequest",
		environmentId: request.environmentId,
		runs: [],
		batchId: request.batchId,
		firstIndex: request.firstIndex,
		// The batch reads only ids, statuses and indexes of what it created.
		summaryOnly: true,
		...(runs === undefined ? {} : { $unknown: [runs] }),
	};
}

const RUNS = TriggerRunsRequestSchema.field.runs.number;
const RUN = TriggerRunRequestSchema.field;

/** One taskmesh.scheduler.v1.TriggerRunRequest (no environment: the request's applies). */
function writeRun(w: ProtoWriter, body: ItemBody, parent: Uint8Array | undefined): void {
	stringField(w, RUN.taskId.number, body.taskId);
	bytesField(w, RUN.payload.number, body.payload);
	stringField(w, RUN.payloadType.number, body.payloadType);
	// A submessage once present is written even when empty, as protobuf-es does.
	if (body.options !== undefined)
		w.tag(RUN.options.number, LENGTH_DELIMITED).bytes(toBinary(TriggerOptionsSchema, body.options));
	if (parent !== undefined) w.tag(RUN.parent.number, LENGTH_DELIMITED).bytes(parent);
}

/** A ParentRef's bytes; `wait` is false, so it is left out. */
function parentRef(parent: ParentOfChildren): Uint8Array {
	const w = new ProtoWriter(16 + parent.runId.length * 3 + parent.attemptId.length * 3);
	stringField(w, ParentRefSchema.field.runId.number, parent.runId);
	stringField(w, ParentRefSchema.field.attemptId.number, parent.attemptId);
	return w.finish();
}
