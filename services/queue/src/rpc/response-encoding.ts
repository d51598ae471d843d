import type {
	ConsumeResponse,
	EnqueueResponse,
	EnqueueStreamResponse,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { Delivery, StoredMessage } from "../core/types.js";
import { WireWriter } from "./wire-writer.js";

/** Wire types used here. */
const VARINT = 0;
const LENGTH_DELIMITED = 2;

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
	const w = new WireWriter(estimate);
	// The unknown field's data is what follows its tag: the length, then the batch.
	const outer = w.beginLength();
	for (const d of deliveries) {
		w.tag(1, LENGTH_DELIMITED);
		const start = w.beginLength();
		writeDelivery(w, d);
		w.endLength(start);
	}
	w.endLength(outer);
	return {
		$typeName: "taskmesh.queue.v1.ConsumeResponse",
		kind: { case: undefined },
		$unknown: [{ no: CONSUME_RESPONSE_DELIVERIES, wireType: LENGTH_DELIMITED, data: w.bytes() }],
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
	if (ids.length === 0) return undefined;
	let estimate = 0;
	for (const id of ids) estimate += id.length * 3 + 8;
	const w = new WireWriter(estimate);
	for (let i = 0; i < ids.length; i++) {
		if (i > 0) w.tag(no, LENGTH_DELIMITED);
		const start = w.beginLength();
		w.string(1, ids[i] ?? "");
		if (duplicates[i] === true) {
			w.tag(2, VARINT);
			w.varint(1);
		}
		w.endLength(start);
	}
	return { no, wireType: LENGTH_DELIMITED, data: w.bytes() };
}

/** taskmesh.queue.v1.Delivery. */
function writeDelivery(w: WireWriter, d: Delivery): void {
	w.tag(1, LENGTH_DELIMITED);
	const start = w.beginLength();
	writeMessage(w, d.message);
	w.endLength(start);
	w.string(2, d.receipt);
	w.int32(3, d.deliveryCount);
	writeTimestamp(w, 4, d.visibleUntil);
}

/** taskmesh.queue.v1.QueueMessage; empty resources and metadata are left out, as in proto-convert.ts. */
function writeMessage(w: WireWriter, m: StoredMessage): void {
	w.string(1, m.id);
	w.string(2, m.environmentId);
	w.string(3, m.queue);
	w.string(4, m.concurrencyKey);
	w.bytesField(5, m.payload);
	w.int32(6, m.priority);
	writeTimestamp(w, 7, m.enqueuedAt);
	writeTimestamp(w, 8, m.availableAt);
	const { resources, metadata } = m;
	if (resources.cpu !== 0 || resources.memoryGb !== 0) {
		w.tag(9, LENGTH_DELIMITED);
		const start = w.beginLength();
		w.double(1, resources.cpu);
		w.double(2, resources.memoryGb);
		w.endLength(start);
	}
	let labels = false;
	for (const _ in metadata.labels) {
		labels = true;
		break;
	}
	if (metadata.runId !== "" || metadata.taskId !== "" || metadata.attempt !== 0 || labels) {
		w.tag(10, LENGTH_DELIMITED);
		const start = w.beginLength();
		w.string(1, metadata.runId);
		w.string(2, metadata.taskId);
		w.int32(3, metadata.attempt);
		for (const key in metadata.labels) {
			// A map entry always carries its key and value, even empty ones.
			w.tag(4, LENGTH_DELIMITED);
			const entry = w.beginLength();
			writeAlways(w, 1, key);
			writeAlways(w, 2, metadata.labels[key] ?? "");
			w.endLength(entry);
		}
		w.endLength(start);
	}
	w.int32(11, m.nackCount);
}

/** A map entry's string: written even when empty. */
function writeAlways(w: WireWriter, field: number, value: string): void {
	if (value !== "") {
		w.string(field, value);
		return;
	}
	w.tag(field, LENGTH_DELIMITED);
	w.varint(0);
}

/** google.protobuf.Timestamp from ms since the epoch (always present, as proto-convert.ts sets it). */
function writeTimestamp(w: WireWriter, field: number, ms: number): void {
	const seconds = Math.floor(ms / 1000);
	const nanos = Math.round((ms - seconds * 1000) * 1_000_000);
	w.tag(field, LENGTH_DELIMITED);
	const start = w.beginLength();
	if (seconds !== 0) {
		w.tag(1, VARINT);
		w.signedVarint(seconds);
	}
	w.int32(2, nanos);
	w.endLength(start);
}
