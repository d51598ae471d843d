import { toBinary } from "@bufbuild/protobuf";
import {
	TriggerOptionsSchema,
	type TriggerRunsRequest,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	boolField,
	bytesField,
	LENGTH_DELIMITED,
	messageField,
	type ProtoWriter,
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
	const runs = repeatedMessageField(2, bodies, sizeHint, (w, body) => writeRun(w, body, parent));
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

/** One taskmesh.scheduler.v1.TriggerRunRequest (no environment: the request's applies). */
function writeRun(w: ProtoWriter, body: ItemBody, parent: ParentOfChildren | undefined): void {
	stringField(w, 2, body.taskId);
	bytesField(w, 3, body.payload);
	stringField(w, 4, body.payloadType);
	// A submessage once present is written even when empty, as protobuf-es does.
	if (body.options !== undefined)
		w.tag(5, LENGTH_DELIMITED).bytes(toBinary(TriggerOptionsSchema, body.options));
	if (parent !== undefined) {
		messageField(w, 6, () => {
			stringField(w, 1, parent.runId);
			stringField(w, 2, parent.attemptId);
			boolField(w, 3, false);
		});
	}
}
