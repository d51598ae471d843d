import { fromBinary } from "@bufbuild/protobuf";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import {
	type EnqueueMessage,
	type EnqueueRequest,
	EnqueueRequestSchema,
	type EnqueueStreamRequest,
	EnqueueStreamRequestSchema,
	type MessageMetadata,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { ProtoReader } from "../../../../packages/protobuf-wire/src/index.js";
import { enter, leave, NOT_HANDLED, resources, text } from "./wire-reading.js";

/**
 * Enqueue and EnqueueStream requests decoded by hand. At 500 one-message
 * requests a second, protobuf-es's reflection-based fromBinary was the largest
 * single source of the service's garbage (about 7 KB per request: a reflection
 * wrapper and field map per message and submessage), and the young-generation
 * collections that garbage causes are most of the latency tail. The objects are
 * the ones protobuf-es builds (request-decoding.test.ts compares them); anything
 * outside the shape producers send (an unknown field, a submessage given twice,
 * text that is not UTF-8, truncated bytes) is left to protobuf-es whole, so its
 * answer, or its error, is the one given.
 */
export function decodeEnqueueRequest(bytes: Uint8Array): EnqueueRequest {
	const messages = enqueueMessagesOf(bytes);
	if (messages === undefined) return fromBinary(EnqueueRequestSchema, bytes);
	return { $typeName: "taskmesh.queue.v1.EnqueueRequest", messages };
}

/** An EnqueueStream request (the same fields as Enqueue's), decoded as decodeEnqueueRequest is. */
export function decodeEnqueueStreamRequest(bytes: Uint8Array): EnqueueStreamRequest {
	return enqueueStreamRequestByHand(bytes) ?? fromBinary(EnqueueStreamRequestSchema, bytes);
}

/** decodeEnqueueStreamRequest's own reading; undefined for what it leaves to protobuf-es. */
export function enqueueStreamRequestByHand(bytes: Uint8Array): EnqueueStreamRequest | undefined {
	const request: EnqueueStreamRequest = {
		$typeName: "taskmesh.queue.v1.EnqueueStreamRequest",
		messages: [],
		duplicatesOnly: false,
	};
	const messages = enqueueMessagesOf(bytes, (tag, r) => {
		if (tag !== DUPLICATES_ONLY) return false;
		request.duplicatesOnly = r.int64() !== 0n;
		return true;
	});
	if (messages === undefined) return undefined;
	request.messages = messages;
	return request;
}

// Tags: field number * 8 + wire type (0 varint, 1 64-bit, 2 length-delimited).
const MESSAGES = 10;
const DUPLICATES_ONLY = 16;
const ID = 10;
const ENVIRONMENT_ID = 18;
const QUEUE = 26;
const CONCURRENCY_KEY = 34;
const PAYLOAD = 42;
const PRIORITY = 48;
const DELAY = 58;
const AVAILABLE_AT = 66;
const RESOURCES = 74;
const METADATA = 82;
const RUN_ID = 10;
const TASK_ID = 18;
const ATTEMPT = 24;
const LABEL = 34;
const MAP_KEY = 10;
const MAP_VALUE = 18;
const SECONDS = 8;
const NANOS = 16;

/**
 * The repeated EnqueueMessage field 1 of either request; undefined for protobuf-es
 * to read. `other` reads a request's other fields: true when it took the tag.
 */
export function enqueueMessagesOf(
	bytes: Uint8Array,
	other?: (tag: number, r: ProtoReader) => boolean,
): EnqueueMessage[] | undefined {
	try {
		const r = new ProtoReader(bytes);
		const messages: EnqueueMessage[] = [];
		while (r.more()) {
			const tag = r.uint32();
			if (tag === MESSAGES) messages.push(enqueueMessage(r));
			else if (other === undefined || !other(tag, r)) throw NOT_HANDLED;
		}
		return messages;
	} catch {
		return undefined;
	}
}

function enqueueMessage(r: ProtoReader): EnqueueMessage {
	const outer = enter(r);
	const m: EnqueueMessage = {
		$typeName: "taskmesh.queue.v1.EnqueueMessage",
		id: "",
		environmentId: "",
		queue: "",
		concurrencyKey: "",
		payload: EMPTY,
		priority: 0,
		availability: { case: undefined },
	};
	let payload: Uint8Array | undefined;
	while (r.more()) {
		switch (r.uint32()) {
			case ID:
				m.id = text(r);
				break;
			case ENVIRONMENT_ID:
				m.environmentId = text(r);
				break;
			case QUEUE:
				m.queue = text(r);
				break;
			case CONCURRENCY_KEY:
				m.concurrencyKey = text(r);
				break;
			case PAYLOAD:
				payload = r.bytes();
				break;
			case PRIORITY:
				m.priority = r.int32();
				break;
			case DELAY:
				// A second occurrence of a submessage merges into the first: protobuf-es's job.
				if (m.availability.case !== undefined) throw NOT_HANDLED;
				m.availability = { case: "delay", value: secondsAndNanos(r, "google.protobuf.Duration") };
				break;
			case AVAILABLE_AT:
				if (m.availability.case !== undefined) throw NOT_HANDLED;
				m.availability = {
					case: "availableAt",
					value: secondsAndNanos(r, "google.protobuf.Timestamp") as unknown as Timestamp,
				};
				break;
			case RESOURCES:
				if (m.resources !== undefined) throw NOT_HANDLED;
				m.resources = resources(r);
				break;
			case METADATA:
				if (m.metadata !== undefined) throw NOT_HANDLED;
				m.metadata = metadata(r);
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	// protobuf-es gives each message without a payload its own empty array.
	m.payload = payload ?? new Uint8Array(0);
	leave(r, outer);
	return m;
}

/** Stands in for the payload until the message's fields are read. */
const EMPTY = new Uint8Array(0);

function secondsAndNanos(r: ProtoReader, typeName: "google.protobuf.Duration" | "google.protobuf.Timestamp") {
	const outer = enter(r);
	const value = { $typeName: typeName, seconds: 0n, nanos: 0 } as Duration;
	while (r.more()) {
		const tag = r.uint32();
		if (tag === SECONDS) value.seconds = r.int64();
		else if (tag === NANOS) value.nanos = r.int32();
		else throw NOT_HANDLED;
	}
	leave(r, outer);
	return value;
}

function metadata(r: ProtoReader): MessageMetadata {
	const outer = enter(r);
	const value: MessageMetadata = {
		$typeName: "taskmesh.queue.v1.MessageMetadata",
		runId: "",
		taskId: "",
		attempt: 0,
		labels: {},
	};
	while (r.more()) {
		switch (r.uint32()) {
			case RUN_ID:
				value.runId = text(r);
				break;
			case TASK_ID:
				value.taskId = text(r);
				break;
			case ATTEMPT:
				value.attempt = r.int32();
				break;
			case LABEL:
				label(r, value.labels);
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	leave(r, outer);
	return value;
}

/** One map entry; a missing key or value is empty, and a later entry for a key replaces it. */
function label(r: ProtoReader, labels: Record<string, string>): void {
	const outer = enter(r);
	let key = "";
	let value = "";
	while (r.more()) {
		const tag = r.uint32();
		if (tag === MAP_KEY) key = text(r);
		else if (tag === MAP_VALUE) value = text(r);
		else throw NOT_HANDLED;
	}
	labels[key] = value;
	leave(r, outer);
}
