import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { AckReason, ConsumeRequestSchema } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { ProtoWriter } from "../../../../packages/protobuf-wire/src/index.js";
import { decodeConsumeRequest, handDecoded } from "./consume-request-decoding.js";

/** Requests as grpc-js hands them over: Buffers. */
function wire(request: MessageInitShape<typeof ConsumeRequestSchema>): Buffer {
	return Buffer.from(toBinary(ConsumeRequestSchema, create(ConsumeRequestSchema, request)));
}

/** The decoder gives what protobuf-es gives for the same bytes, or fails as it fails. */
function assertSameAsProtobufEs(bytes: Buffer, byHand: boolean): void {
	assert.equal(handDecoded(bytes) !== undefined, byHand, byHand ? "read by hand" : "left to protobuf-es");
	let expected: unknown;
	try {
		expected = fromBinary(ConsumeRequestSchema, bytes);
	} catch (error) {
		assert.throws(() => decodeConsumeRequest(bytes), { message: (error as Error).message });
		return;
	}
	assert.deepStrictEqual(decodeConsumeRequest(bytes), expected);
}

describe("hand-decoded Consume requests", () => {
	test("credits, with and without free resources, zero and negative", () => {
		assertSameAsProtobufEs(wire({ kind: { case: "credit", value: { credits: 256 } } }), true);
		assertSameAsProtobufEs(wire({ kind: { case: "credit", value: { credits: 0 } } }), true);
		assertSameAsProtobufEs(wire({ kind: { case: "credit", value: { credits: -5 } } }), true);
		assertSameAsProtobufEs(
			wire({ kind: { case: "credit", value: { credits: 2, freeResources: { cpu: 1.5, memoryGb: 0 } } } }),
			true,
		);
	});

	test("acknowledgements, one to many, every field, unknown reasons", () => {
		const receipts = Array.from({ length: 300 }, (_, i) => `env|m${i}|tok.${i}`);
		assertSameAsProtobufEs(
			wire({
				kind: {
					case: "acknowledge",
					value: {
						acknowledgements: receipts.map((receipt) => ({ receipt, reason: AckReason.COMPLETED })),
					},
				},
			}),
			true,
		);
		assertSameAsProtobufEs(
			wire({
				kind: {
					case: "acknowledge",
					value: {
						consumerId: "w-1",
						acknowledgements: [
							{ receipt: "é|名|😀", reason: 99 as AckReason, detail: "done" },
							{ receipt: "", reason: -1 as AckReason, detail: "" },
						],
					},
				},
			}),
			true,
		);
		assertSameAsProtobufEs(wire({ kind: { case: "acknowledge", value: {} } }), true);
	});

	test("the other kinds, an empty request and unknown fields are left to protobuf-es", () => {
		assertSameAsProtobufEs(wire({ kind: { case: "open", value: { consumerId: "w" } } }), false);
		assertSameAsProtobufEs(wire({ kind: { case: "nack", value: { items: [{ receipt: "r" }] } } }), false);
		assertSameAsProtobufEs(wire({ kind: { case: "heartbeat", value: { receipts: ["r"] } } }), false);
		assertSameAsProtobufEs(Buffer.alloc(0), false);
		const w = new ProtoWriter();
		w.tag(2, 2).begin().tag(1, 0).uint(5).tag(9, 0).uint(1).end();
		assertSameAsProtobufEs(Buffer.from(w.finish()), false);
		const twice = new ProtoWriter();
		twice.tag(2, 2).begin().tag(1, 0).uint(5).end().tag(2, 2).begin().tag(1, 0).uint(6).end();
		assertSameAsProtobufEs(Buffer.from(twice.finish()), false);
		const ack = new ProtoWriter();
		ack.tag(3, 2).begin().tag(2, 2).begin().tag(1, 2).string("r").tag(4, 2).string("x").end().end();
		assertSameAsProtobufEs(Buffer.from(ack.finish()), false);
	});

	test("invalid UTF-8 and truncated bytes fail as protobuf-es fails", () => {
		const w = new ProtoWriter();
		w.tag(3, 2)
			.begin()
			.tag(1, 2)
			.bytes(Buffer.from([0xc3, 0x28]))
			.end();
		assertSameAsProtobufEs(Buffer.from(w.finish()), false);
		const bytes = wire({
			kind: { case: "acknowledge", value: { acknowledgements: [{ receipt: "abc", reason: 1 }] } },
		});
		for (const cut of [1, 3, bytes.length - 1]) assertSameAsProtobufEs(bytes.subarray(0, cut), false);
	});
});
