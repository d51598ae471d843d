import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { StreamBatchItemsRequestSchema } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { chunkItemsOf } from "../../../services/batch/src/rpc/item-decoding.js";
import { batchChunkRequestOf, type ChunkItem } from "./batch-chunk-encoding.js";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

const items: ChunkItem[] = [
	{ index: 0, item: { taskId: "child", payload: json({ i: 0 }) } },
	{
		index: 1,
		item: { taskId: "child", payload: json({ i: 1 }), payloadType: "application/json", options: {} },
	},
	{ index: 2, item: { taskId: "タスク/ü", payload: new Uint8Array(0), payloadType: "" } },
	{ index: 300, item: { taskId: "t".repeat(200), payload: new Uint8Array(70_000).fill(7) } },
	{
		index: 2 ** 31,
		item: {
			taskId: "child",
			payload: json({ big: "x".repeat(1000) }),
			options: {
				queue: "q",
				concurrencyKey: "tenant-1",
				idempotencyKey: "key-1",
				delay: durationFromMs(1500),
				tags: ["a", "b"],
				priority: 3,
				metadata: { nested: { n: 1 } },
			},
		},
	},
	{ index: 5, item: { taskId: "child", payload: json({}), options: { tags: undefined } } },
];

/** The same request built through create() and protobuf-es's encoder. */
function reflected(chunk: ChunkItem[]): Uint8Array {
	return toBinary(
		StreamBatchItemsRequestSchema,
		create(StreamBatchItemsRequestSchema, { kind: { case: "chunk", value: { items: chunk } } }),
	);
}

test("a chunk of batch items written by hand has the bytes protobuf-es writes", () => {
	for (const chunk of [items, [items[0] as ChunkItem], items.slice(1, 4)]) {
		const bytes = toBinary(StreamBatchItemsRequestSchema, batchChunkRequestOf(chunk));
		assert.deepEqual(Buffer.from(bytes), Buffer.from(reflected(chunk)));
	}
});

test("the batch service reads a hand-written chunk by hand, with every item as sent", () => {
	const bytes = toBinary(StreamBatchItemsRequestSchema, batchChunkRequestOf(items));
	const byHand = chunkItemsOf(bytes);
	assert.ok(byHand !== undefined, "read by the service's own decoder");
	const decoded = fromBinary(StreamBatchItemsRequestSchema, bytes);
	assert.equal(decoded.kind.case, "chunk");
	assert.deepEqual(
		byHand.map((i) => [
			i.index,
			i.item?.taskId,
			i.item?.payload.byteLength,
			i.item?.options?.priority ?? null,
		]),
		[
			[0, "child", 7, null],
			[1, "child", 7, 0],
			[2, "タスク/ü", 0, null],
			[300, "t".repeat(200), 70_000, null],
			[2 ** 31, "child", 1010, 3],
			[5, "child", 2, 0],
		],
	);
});
