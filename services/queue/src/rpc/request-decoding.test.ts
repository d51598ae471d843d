import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
	EnqueueMessageSchema,
	EnqueueRequestSchema,
	EnqueueStreamRequestSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { ProtoWriter } from "../../../../packages/protobuf-wire/src/index.js";
import {
	decodeEnqueueRequest,
	decodeEnqueueStreamRequest,
	enqueueMessagesOf,
	enqueueStreamRequestByHand,
} from "./request-decoding.js";

type Init = MessageInitShape<typeof EnqueueMessageSchema>;

/** Requests as grpc-js hands them over: Buffers. */
function wire(messages: Init[]): Buffer {
	return Buffer.from(toBinary(EnqueueStreamRequestSchema, create(EnqueueStreamRequestSchema, { messages })));
}

/** Both decoders give what protobuf-es gives for the same bytes, or fail as it fails. */
function assertSameAsProtobufEs(bytes: Buffer, byHand = true): void {
	assert.equal(
		enqueueMessagesOf(bytes) !== undefined,
		byHand,
		byHand ? "read by hand" : "left to protobuf-es",
	);
	let expected: unknown;
	let expectedError: unknown;
	try {
		expected = fromBinary(EnqueueStreamRequestSchema, bytes);
	} catch (error) {
		expectedError = error;
	}
	if (expectedError !== undefined) {
		assert.throws(() => decodeEnqueueStreamRequest(bytes), { message: (expectedError as Error).message });
		assert.throws(() => decodeEnqueueRequest(bytes), { message: (expectedError as Error).message });
		return;
	}
	assert.deepStrictEqual(decodeEnqueueStreamRequest(bytes), expected);
	assert.deepStrictEqual(decodeEnqueueRequest(bytes), fromBinary(EnqueueRequestSchema, bytes));
}

const full: Init = {
	id: "m-1",
	environmentId: "env-1",
	queue: "emails",
	concurrencyKey: "tenant-7",
	payload: Buffer.from("hello"),
	priority: -1000,
	availability: { case: "delay", value: { seconds: 30n, nanos: 500_000_000 } },
	resources: { cpu: 0.25, memoryGb: 1.5 },
	metadata: { runId: "run_1", taskId: "task_a", attempt: 3, labels: { team: "growth", "": "" } },
};

describe("hand-decoded Enqueue and EnqueueStream requests", () => {
	test("the shape producers send, every field set", () => {
		assertSameAsProtobufEs(wire([full]));
	});

	test("empty request, and messages with nothing set", () => {
		assertSameAsProtobufEs(Buffer.alloc(0));
		assertSameAsProtobufEs(wire([{}, {}]));
		assertSameAsProtobufEs(wire([{ metadata: {}, resources: {} }]));
	});

	test("a one-message request as the bench and the SDK send it", () => {
		assertSameAsProtobufEs(
			wire([{ id: "m1", environmentId: "e", queue: "bench", payload: new Uint8Array(16) }]),
		);
	});

	test("large and negative values", () => {
		assertSameAsProtobufEs(
			wire([
				{
					...full,
					priority: 2_147_483_647,
					availability: {
						case: "availableAt",
						value: { seconds: 9_223_372_036_854_775_807n, nanos: 999_999_999 },
					},
					metadata: { attempt: -2_147_483_648 },
					resources: { cpu: -0, memoryGb: Number.MAX_VALUE },
				},
				{
					...full,
					availability: { case: "delay", value: { seconds: -9_223_372_036_854_775_808n, nanos: -1 } },
				},
				{ ...full, payload: new Uint8Array(70_000).fill(7), id: "x".repeat(300) },
			]),
		);
	});

	test("text outside ASCII, and invalid UTF-8 refused as protobuf-es refuses it", () => {
		assertSameAsProtobufEs(wire([{ ...full, id: "é-名前-😀", metadata: { labels: { ключ: "значение" } } }]));
		const w = new ProtoWriter();
		w.tag(1, 2)
			.begin()
			.tag(1, 2)
			.bytes(Buffer.from([0x61, 0xff, 0x62]))
			.end();
		assertSameAsProtobufEs(Buffer.from(w.finish()), false);
	});

	test("many messages, 1,000 as a batch carries", () => {
		assertSameAsProtobufEs(
			wire(Array.from({ length: 1000 }, (_, i) => ({ ...full, id: `m${i}`, priority: i - 500 }))),
		);
	});

	test("unknown fields, at every level, are kept as protobuf-es keeps them", () => {
		const base = wire([full]);
		const top = new ProtoWriter();
		top.raw(base).tag(15, 0).uint(42).tag(16, 2).bytes(Buffer.from("future"));
		assertSameAsProtobufEs(Buffer.from(top.finish()), false);
		const inner = new ProtoWriter();
		inner.tag(1, 2).begin().tag(1, 2).string("m").tag(99, 1).double(1.5).tag(2, 2).string("e").end();
		assertSameAsProtobufEs(Buffer.from(inner.finish()), false);
		const inMetadata = new ProtoWriter();
		inMetadata.tag(1, 2).begin().tag(10, 2).begin().tag(7, 0).uint(1).end().end();
		assertSameAsProtobufEs(Buffer.from(inMetadata.finish()), false);
	});

	test("a submessage given twice is merged, a scalar given twice takes the last", () => {
		const w = new ProtoWriter();
		w.tag(1, 2).begin();
		w.tag(1, 2).string("first").tag(1, 2).string("second");
		w.tag(10, 2).begin().tag(1, 2).string("run").end();
		w.tag(10, 2).begin().tag(2, 2).string("task").end();
		w.tag(7, 2).begin().tag(1, 0).uint(5).end();
		w.tag(8, 2).begin().tag(1, 0).uint(6).end();
		w.end();
		assertSameAsProtobufEs(Buffer.from(w.finish()), false);
	});

	test("map entries: missing key or value, a key given twice", () => {
		const w = new ProtoWriter();
		w.tag(1, 2).begin().tag(10, 2).begin();
		w.tag(4, 2).begin().tag(2, 2).string("no key").end();
		w.tag(4, 2).begin().tag(1, 2).string("no value").end();
		w.tag(4, 2).begin().tag(1, 2).string("k").tag(2, 2).string("1").end();
		w.tag(4, 2).begin().tag(2, 2).string("2").tag(1, 2).string("k").end();
		w.end().end();
		assertSameAsProtobufEs(Buffer.from(w.finish()));
	});

	test("truncated and malformed bytes fail as protobuf-es fails", () => {
		const bytes = wire([full]);
		for (const cut of [1, 2, 5, bytes.length - 1]) assertSameAsProtobufEs(bytes.subarray(0, cut), false);
		assertSameAsProtobufEs(Buffer.from([0x08, 0x01]), false);
		assertSameAsProtobufEs(Buffer.from([0x0a, 0x02, 0x30, 0xff]), false);
	});

	test("an EnqueueStream request's duplicates_only flag is read, wherever it stands among the messages", () => {
		const flagged = Buffer.from(
			toBinary(
				EnqueueStreamRequestSchema,
				create(EnqueueStreamRequestSchema, { messages: [full, full], duplicatesOnly: true }),
			),
		);
		assert.equal(enqueueStreamRequestByHand(flagged)?.duplicatesOnly, true, "read by hand");
		assert.deepStrictEqual(
			decodeEnqueueStreamRequest(flagged),
			fromBinary(EnqueueStreamRequestSchema, flagged),
		);
		const w = new ProtoWriter(256);
		w.tag(2, 0).uint(1);
		w.tag(1, 2).bytes(toBinary(EnqueueMessageSchema, create(EnqueueMessageSchema, full)));
		const first = Buffer.from(w.finish());
		assert.deepStrictEqual(decodeEnqueueStreamRequest(first), fromBinary(EnqueueStreamRequestSchema, first));
		assert.equal(enqueueStreamRequestByHand(first)?.duplicatesOnly, true, "read by hand");
		// The unary request has no such field: protobuf-es reads it, keeping the unknown field.
		assert.deepStrictEqual(decodeEnqueueRequest(flagged), fromBinary(EnqueueRequestSchema, flagged));
	});

	test("a Uint8Array that is not a Buffer decodes the same", () => {
		const bytes = new Uint8Array(wire([full]));
		assert.deepStrictEqual(decodeEnqueueStreamRequest(bytes), fromBinary(EnqueueStreamRequestSchema, bytes));
	});
});
