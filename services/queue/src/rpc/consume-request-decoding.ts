import { fromBinary } from "@bufbuild/protobuf";
import {
	type Acknowledgement,
	type AcknowledgeRequest,
	type ConsumeCredit,
	type ConsumeRequest,
	ConsumeRequestSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { ProtoReader } from "../../../../packages/protobuf-wire/src/index.js";
import { enter, leave, NOT_HANDLED, resources, text } from "./wire-reading.js";

/**
 * A Consume stream's requests, the credit and acknowledge kinds decoded by hand.
 * A consumer sends one of each per batch it settles, and protobuf-es's
 * reflection-based fromBinary of them was the largest share of protobuf-es
 * garbage left on the delivery path. The objects are the ones protobuf-es builds
 * (consume-request-decoding.test.ts compares them); the other kinds, and anything
 * outside the shape clients send, are left to protobuf-es whole.
 */
export function decodeConsumeRequest(bytes: Uint8Array): ConsumeRequest {
	return handDecoded(bytes) ?? fromBinary(ConsumeRequestSchema, bytes);
}

// Tags: field number * 8 + wire type.
const CREDIT = 18;
const ACKNOWLEDGE = 26;
const CREDITS = 8;
const FREE_RESOURCES = 18;
const CONSUMER_ID = 10;
const ACKNOWLEDGEMENT = 18;
const RECEIPT = 10;
const REASON = 16;
const DETAIL = 26;

/** The request read by hand; undefined for protobuf-es to read. */
export function handDecoded(bytes: Uint8Array): ConsumeRequest | undefined {
	try {
		const r = new ProtoReader(bytes);
		if (!r.more()) return undefined;
		const tag = r.uint32();
		let request: ConsumeRequest;
		if (tag === CREDIT) {
			request = { $typeName: "taskmesh.queue.v1.ConsumeRequest", kind: { case: "credit", value: credit(r) } };
		} else if (tag === ACKNOWLEDGE) {
			request = {
				$typeName: "taskmesh.queue.v1.ConsumeRequest",
				kind: { case: "acknowledge", value: acknowledge(r) },
			};
		} else return undefined;
		// A second field (the oneof again, or another case) is protobuf-es's to resolve.
		return r.more() ? undefined : request;
	} catch {
		return undefined;
	}
}

function credit(r: ProtoReader): ConsumeCredit {
	const outer = enter(r);
	const value: ConsumeCredit = { $typeName: "taskmesh.queue.v1.ConsumeCredit", credits: 0 };
	while (r.more()) {
		const tag = r.uint32();
		if (tag === CREDITS) value.credits = r.int32();
		else if (tag === FREE_RESOURCES && value.freeResources === undefined) value.freeResources = resources(r);
		else throw NOT_HANDLED;
	}
	leave(r, outer);
	return value;
}

function acknowledge(r: ProtoReader): AcknowledgeRequest {
	const outer = enter(r);
	const value: AcknowledgeRequest = {
		$typeName: "taskmesh.queue.v1.AcknowledgeRequest",
		consumerId: "",
		acknowledgements: [],
	};
	while (r.more()) {
		const tag = r.uint32();
		if (tag === CONSUMER_ID) value.consumerId = text(r);
		else if (tag === ACKNOWLEDGEMENT) value.acknowledgements.push(acknowledgement(r));
		else throw NOT_HANDLED;
	}
	leave(r, outer);
	return value;
}

function acknowledgement(r: ProtoReader): Acknowledgement {
	const outer = enter(r);
	const value: Acknowledgement = {
		$typeName: "taskmesh.queue.v1.Acknowledgement",
		receipt: "",
		reason: 0,
		detail: "",
	};
	while (r.more()) {
		const tag = r.uint32();
		if (tag === RECEIPT) value.receipt = text(r);
		else if (tag === REASON) value.reason = r.int32();
		else if (tag === DETAIL) value.detail = text(r);
		else throw NOT_HANDLED;
	}
	leave(r, outer);
	return value;
}
