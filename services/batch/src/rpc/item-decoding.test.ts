import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
	type IndexedBatchItemSchema,
	StreamBatchItemsRequestSchema,
} from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { ProtoWriter } from "../../../../packages/protobuf-wire/src/index.js";
import { chunkItemsOf, decodeStreamBatchItemsRequest } from "./item-decoding.js";

type Indexed = MessageInitShape<typeof IndexedBatchItemSchema>;

/** A chunk as grpc-js hands it over: a Buffer. */
function chunk(items: Indexed[]): Buffer {
	return Buffer.from(
		toBinary(
			StreamBatchItemsRequestSchema,
			create(StreamBatchItemsRequestSchema, { kind: { case: "chunk", value: { items } } }),
		),
	);
}

/** The decoder gives what protobuf-es gives for the same bytes, or fails as it fails. */
function assertSameAsProtobufEs(bytes: Uint8Array, byHand: boolean): void {
	assert.equal(chunkItemsOf(bytes) !== undefined, byHand, byHand ? "read by hand" : "left to protobuf-es");
	let expected: unknown;
	try {
		expected = fromBinary(StreamBatchItemsRequestSchema, bytes);
	} catch (error) {
		assert.throws(() => decodeStreamBatchItemsRequest(bytes), { message: (error as Error).message });
		return;
	}
	assert.deepStrictEqual(decodeStreamBatchItemsRequest(bytes), expected);
}

const full: Indexed = {
	index: 4_000_000_000,
	item: {
		taskId: "emails.send",
		payload: Buffer.from('{"to":"a@example.com"}'),
		payloadType: "application/json",
		options: {
			idempotencyKey: "item-7",
			tags: ["tenant:7", "welcome"],
			delay: { seconds: 30n },
			retry: { maxAttempts: 5, factor: 2 },
		},
	},
};

describe("hand-decoded StreamBatchItems chunks", () => {
	test("items with every field set, with none, and without an item", () => {
		assertSameAsProtobufEs(chunk([full, { index: 0, item: {} }, { index: 9 }]), true);
		assertSameAsProtobufEs(chunk([]), true);
	});

	test("a chunk of many items keeps them in order, payloads byte-exact", () => {
		const items = Array.from({ length: 1_000 }, (_, i) => ({
			index: i,
			item: { taskId: "child", payload: Buffer.from(JSON.stringify({ i })) },
		}));
		const decoded = decodeStreamBatchItemsRequest(chunk(items));
		assert.equal(decoded.kind.case, "chunk");
		const got = decoded.kind.case === "chunk" ? decoded.kind.value.items : [];
		assert.equal(got.length, 1_000);
		assert.equal(got[999]?.index, 999);
		assert.equal(Buffer.from(got[999]?.item?.payload ?? []).toString(), '{"i":999}');
		assertSameAsProtobufEs(chunk(items), true);
	});

	test("the header, unknown fields, repeated submessages, bad UTF-8 and truncated bytes go to protobuf-es", () => {
		const header = toBinary(
			StreamBatchItemsRequestSchema,
			create(StreamBatchItemsRequestSchema, {
				kind: { case: "header", value: { environmentId: "env", batchId: "b1" } },
			}),
		);
		assertSameAsProtobufEs(header, false);
		const bytes = chunk([full]);
		// An unknown field (99, varint) after the chunk.
		assertSameAsProtobufEs(Buffer.concat([bytes, new ProtoWriter(8).tag(99, 0).uint(1).finish()]), false);
		// The chunk given twice: protobuf-es merges the two.
		assertSameAsProtobufEs(Buffer.concat([bytes, bytes]), false);
		// A task id that is not UTF-8.
		const bad = new ProtoWriter(64);
		bad.tag(2, 2).begin().tag(1, 2).begin().tag(1, 0).uint(1).tag(2, 2).begin();
		bad.tag(1, 2).bytes(Uint8Array.of(0xff, 0xfe));
		bad.end().end().end();
		assertSameAsProtobufEs(bad.finish(), false);
		assertSameAsProtobufEs(bytes.subarray(0, bytes.length - 3), false);
	});
});
