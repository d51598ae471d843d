import type {
	ConsumeResponse,
	EnqueueResponse,
	EnqueueStreamResponse,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import {
	boolField,
	bytesField,
	doubleField,
	int32Field,
	LENGTH_DELIMITED,
	messageField,
	ProtoWriter,
	repeatedMessageField,
	stringField,
	timestampField,
} from "../../../../packages/protobuf-wire/src/index.js";
import type { Delivery, StoredMessage } from "../core/types.js";

/** ConsumeResponse.deliveries, the oneof case a delivery batch goes out as. */
const CONSUME_RESPONSE_DELIVERIES = 2;

/**
 * A Consume stream's delivery batch, encoded by hand. The delivery path sends
 * tens of thousands of messages a second, and protobuf-es's reflection-based
 * encoder was the largest single cost of the service (about a third of its CPU per
 * message). The bytes are exactly those protobuf-es writes for the same
 * DeliveryBatch (response-encoding.test.ts checks it field by field, labels and
 * negative numbers included); they travel as the response's one unknown field,
 * which protobuf-es writes through unchanged, so the contract and the transport
 * stay as they are.
 */
export function deliveryBatchResponse(deliveries: Delivery[]): ConsumeResponse {
	let estimate = 16;
	for (const d of deliveries) estimate += 160 + d.message.payload.byteLength + d.receipt.length;
	const w = new ProtoWriter(estimate);
	// The unknown field's data is what follows its tag: the length, then the batch.
	w.begin();
	for (const d of deliveries) messageField(w, 1, () => writeDelivery(w, d));
	w.end();
	return {
		$typeName: "taskmesh.queue.v1.ConsumeResponse",
		kind: { case: undefined },
		$unknown: [{ no: CONSUME_RESPONSE_DELIVERIES, wireType: LENGTH_DELIMITED, data: w.finish() }],
	};
}

/** EnqueueResponse.results. */
const ENQUEUE_RESPONSE_RESULTS = 1;
/** EnqueueStreamResponse.results. */
const ENQUEUE_STREAM_RESPONSE_RESULTS = 2;

/**
 * An Enqueue response, encoded by hand for the same reason (a result per message,
 * up to 1,000 per call, each of which protobuf-es would first copy into a new
 * message). The results go out as one unknown field: protobuf-es writes the first
 * result's tag, and the data carries that result and, tag by tag, the others, so
 * the bytes are those of the repeated field.
 */
export function enqueueResponse(ids: string[], duplicates: boolean[]): EnqueueResponse {
	const response: EnqueueResponse = { $typeName: "taskmesh.queue.v1.EnqueueResponse", results: [] };
	const results = enqueueResultsField(ENQUEUE_RESPONSE_RESULTS, ids, duplicates);
	if (results !== undefined) response.$unknown = [results];
	return response;
}

/** The answer to one request of an EnqueueStream, its results encoded as Enqueue's are. */
export function enqueueStreamResponse(
	sequence: bigint,
	ids: string[],
	duplicates: boolean[],
): EnqueueStreamResponse {
	const response: EnqueueStreamResponse = {
		$typeName: "taskmesh.queue.v1.EnqueueStreamResponse",
		sequence,
		results: [],
	};
	const results = enqueueResultsField(ENQUEUE_STREAM_RESPONSE_RESULTS, ids, duplicates);
	if (results !== undefined) response.$unknown = [results];
	return response;
}

/** A repeated EnqueueResult field as one unknown field (see enqueueResponse); none for no results. */
function enqueueResultsField(no: number, ids: string[], duplicates: boolean[]) {
	let estimate = 0;
	for (const id of ids) estimate += id.length * 3 + 8;
	return repeatedMessageField(no, ids, estimate, (w, id, i) => {
		stringField(w, 1, id);
		boolField(w, 2, duplicates[i] === true);
	});
}

/** taskmesh.queue.v1.Delivery. */
function writeDelivery(w: ProtoWriter, d: Delivery): void {
	messageField(w, 1, () => writeMessage(w, d.message));
	stringField(w, 2, d.receipt);
	int32Field(w, 3, d.deliveryCount);
	timestampField(w, 4, d.visibleUntil);
}

/** taskmesh.queue.v1.QueueMessage; empty resources and metadata are left out, as in proto-convert.ts. */
function writeMessage(w: ProtoWriter, m: StoredMessage): void {
	stringField(w, 1, m.id);
	stringField(w, 2, m.environmentId);
	stringField(w, 3, m.queue);
	stringField(w, 4, m.concurrencyKey);
	bytesField(w, 5, m.payload);
	int32Field(w, 6, m.priority);
	timestampField(w, 7, m.enqueuedAt);
	timestampField(w, 8, m.availableAt);
	const { resources, metadata } = m;
	if (resources.cpu !== 0 || resources.memoryGb !== 0) {
		messageField(w, 9, () => {
			doubleField(w, 1, resources.cpu);
			doubleField(w, 2, resources.memoryGb);
		});
	}
	let labels = false;
	for (const _ in metadata.labels) {
		labels = true;
		break;
	}
	if (metadata.runId !== "" || metadata.taskId !== "" || metadata.attempt !== 0 || labels) {
		messageField(w, 10, () => {
			stringField(w, 1, metadata.runId);
			stringField(w, 2, metadata.taskId);
			int32Field(w, 3, metadata.attempt);
			for (const key in metadata.labels) {
				// A map entry always carries its key and value, even empty ones.
				messageField(w, 4, () => {
					w.tag(1, LENGTH_DELIMITED).string(key);
					w.tag(2, LENGTH_DELIMITED).string(metadata.labels[key] ?? "");
				});
			}
		});
	}
	int32Field(w, 11, m.nackCount);
}
