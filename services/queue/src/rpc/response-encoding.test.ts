import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConsumeResponseSchema, EnqueueResponseSchema } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { Delivery, StoredMessage } from "../core/types.js";
import { deliveryToProto } from "./proto-convert.js";
import { deliveryBatchResponse, enqueueResponse } from "./response-encoding.js";

function message(overrides: Partial<StoredMessage>): StoredMessage {
	return {
		id: "m1",
		environmentId: "env-1",
		queue: "q",
		concurrencyKey: "",
		payload: Buffer.from("hello"),
		priority: 0,
		enqueuedAt: 1_764_000_000_123,
		availableAt: 1_764_000_000_123,
		resources: { cpu: 0, memoryGb: 0 },
		metadata: { runId: "", taskId: "", attempt: 0, labels: {} },
		nackCount: 0,
		...overrides,
	};
}

function delivery(m: StoredMessage, n = 1): Delivery {
	return {
		message: m,
		receipt: `${m.environmentId}|${m.id}|abc.${n}`,
		deliveryCount: n,
		visibleUntil: 1_764_000_030_123,
	};
}

/** What protobuf-es writes for the same batch, through the plain conversion. */
function reference(deliveries: Delivery[]): Uint8Array {
	return toBinary(
		ConsumeResponseSchema,
		create(ConsumeResponseSchema, {
			kind: { case: "deliveries", value: { deliveries: deliveries.map(deliveryToProto) } },
		}),
	);
}

function assertSameAsProtobufEs(deliveries: Delivery[]): void {
	const ours = toBinary(ConsumeResponseSchema, deliveryBatchResponse(deliveries));
	assert.deepEqual(Buffer.from(ours), Buffer.from(reference(deliveries)));
	const decoded = fromBinary(ConsumeResponseSchema, ours);
	assert.equal(decoded.kind.case, "deliveries");
	assert.equal(decoded.kind.value?.deliveries.length, deliveries.length);
}

describe("hand-written response encoding", () => {
	test("a plain message encodes to the bytes protobuf-es writes", () => {
		assertSameAsProtobufEs([delivery(message({}))]);
	});

	test("every optional part: key, negative priority, resources, metadata, labels, nacks", () => {
		assertSameAsProtobufEs([
			delivery(
				message({
					id: "run_1@a=b+c",
					concurrencyKey: "tenant/42",
					priority: -1000,
					resources: { cpu: 0.25, memoryGb: 1.5 },
					metadata: {
						runId: "run_1",
						taskId: "send-email",
						attempt: 3,
						labels: { region: "eu", "": "", "ünïcødé ✓": "值 🚀", empty: "" },
					},
					nackCount: 7,
				}),
				4,
			),
			delivery(message({ id: "m2", priority: 1000, resources: { cpu: 0, memoryGb: 2 } }), 2),
			delivery(message({ id: "m3", metadata: { runId: "", taskId: "", attempt: 1, labels: {} } })),
		]);
	});

	test("times at and before the epoch, and fractions of a millisecond", () => {
		assertSameAsProtobufEs([
			delivery(message({ enqueuedAt: 0, availableAt: 999 })),
			delivery(message({ id: "m2", enqueuedAt: -1500, availableAt: 1_764_000_000_123.5 })),
		]);
	});

	test("lengths past one varint byte: long strings, payloads, batches", () => {
		const big = Buffer.alloc(70_000, 7);
		assertSameAsProtobufEs([
			delivery(message({ payload: Buffer.alloc(200, 1) })),
			delivery(message({ id: "x".repeat(256), payload: big })),
			delivery(message({ metadata: { runId: "r".repeat(256), taskId: "", attempt: 0, labels: {} } })),
		]);
		assertSameAsProtobufEs(
			Array.from({ length: 500 }, (_, i) => delivery(message({ id: `m${i}`, payload: Buffer.alloc(16, i) }))),
		);
	});

	test("decoding gives back every field", () => {
		const d = delivery(
			message({
				priority: -5,
				resources: { cpu: 2, memoryGb: 0.5 },
				metadata: { runId: "r", taskId: "t", attempt: 2, labels: { a: "b" } },
			}),
			3,
		);
		const decoded = fromBinary(
			ConsumeResponseSchema,
			toBinary(ConsumeResponseSchema, deliveryBatchResponse([d])),
		);
		assert.equal(decoded.kind.case, "deliveries");
		const [got] = decoded.kind.value?.deliveries ?? [];
		assert.equal(got?.receipt, d.receipt);
		assert.equal(got?.deliveryCount, 3);
		assert.equal(got?.message?.priority, -5);
		assert.equal(got?.message?.resources?.memoryGb, 0.5);
		assert.deepEqual(got?.message?.metadata?.labels, { a: "b" });
		assert.deepEqual(Buffer.from(got?.message?.payload ?? []), d.message.payload);
		assert.equal(got?.visibleUntil?.seconds, 1_764_000_030n);
		assert.equal(got?.visibleUntil?.nanos, 123_000_000);
	});

	test("an Enqueue response encodes to the bytes protobuf-es writes, duplicates included", () => {
		for (const count of [0, 1, 3, 1000]) {
			const ids = Array.from({ length: count }, (_, i) => (i === 1 ? "ü-".repeat(80) : `m${i}`));
			const duplicates = ids.map((_, i) => i % 3 === 2);
			const ours = toBinary(EnqueueResponseSchema, enqueueResponse(ids, duplicates));
			const plain = toBinary(
				EnqueueResponseSchema,
				create(EnqueueResponseSchema, { results: ids.map((id, i) => ({ id, duplicate: duplicates[i] })) }),
			);
			assert.deepEqual(Buffer.from(ours), Buffer.from(plain));
			const decoded = fromBinary(EnqueueResponseSchema, ours);
			assert.deepEqual(
				decoded.results.map((r) => [r.id, r.duplicate]),
				ids.map((id, i) => [id, duplicates[i]]),
			);
		}
	});
});
