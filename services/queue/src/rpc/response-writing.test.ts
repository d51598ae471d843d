import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
	type ConsumeResponse,
	ConsumeResponseSchema,
	EnqueueResponseSchema,
	EnqueueStreamResponseSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { Delivery } from "../core/types.js";
import { deliveryBatchResponse, enqueueResponse, enqueueStreamResponse } from "./response-encoding.js";
import {
	writeConsumeResponse,
	writeEnqueueResponse,
	writeEnqueueStreamResponse,
} from "./response-writing.js";

/** What the kit's protobuf-es serializer writes for a response. */
function reference<D extends DescMessage>(schema: D, response: MessageShape<D>): Buffer {
	return Buffer.from(toBinary(schema, create(schema, response)));
}

const delivery: Delivery = {
	message: {
		id: "m1",
		environmentId: "env-1",
		queue: "q",
		concurrencyKey: "k",
		payload: Buffer.alloc(300, 1),
		priority: -3,
		enqueuedAt: 1_764_000_000_123,
		availableAt: 1_764_000_000_123,
		resources: { cpu: 0.5, memoryGb: 0 },
		metadata: { runId: "r", taskId: "t", attempt: 1, labels: { a: "b" } },
		nackCount: 0,
	},
	receipt: "env-1|m1|abc.1",
	deliveryCount: 1,
	visibleUntil: 1_764_000_030_123,
};

describe("hot responses written without protobuf-es", () => {
	test("Enqueue responses, none to many results", () => {
		for (const n of [0, 1, 1000]) {
			const ids = Array.from({ length: n }, (_, i) => `m${i}`);
			const response = enqueueResponse(
				ids,
				ids.map((_, i) => i % 3 === 0),
			);
			assert.deepEqual(
				Buffer.from(writeEnqueueResponse(response)),
				reference(EnqueueResponseSchema, response),
			);
		}
		const plain = create(EnqueueResponseSchema, { results: [{ id: "x", duplicate: true }] });
		assert.deepEqual(Buffer.from(writeEnqueueResponse(plain)), reference(EnqueueResponseSchema, plain));
	});

	test("EnqueueStream answers: sequences from 0 to past 2^53, and refusals", () => {
		for (const sequence of [0n, 1n, 127n, 128n, 1n << 40n, (1n << 53n) + 1n, (1n << 64n) - 1n]) {
			const response = enqueueStreamResponse(sequence, ["a", "b"], [false, true]);
			assert.deepEqual(
				Buffer.from(writeEnqueueStreamResponse(response)),
				reference(EnqueueStreamResponseSchema, response),
			);
		}
		const refused = create(EnqueueStreamResponseSchema, {
			sequence: 4n,
			error: { code: 3, message: "messages[0].id: is required" },
		});
		assert.deepEqual(
			Buffer.from(writeEnqueueStreamResponse(refused)),
			reference(EnqueueStreamResponseSchema, refused),
		);
	});

	test("Consume responses: delivery batches by hand, other kinds as protobuf-es writes them", () => {
		for (const batch of [[delivery], [delivery, { ...delivery, receipt: "env-1|m2|abc.2" }]]) {
			const response = deliveryBatchResponse(batch);
			assert.deepEqual(
				Buffer.from(writeConsumeResponse(response)),
				reference(ConsumeResponseSchema, response),
			);
		}
		const opened = create(ConsumeResponseSchema, {
			kind: { case: "opened", value: { consumerId: "w1" } },
		}) as ConsumeResponse;
		assert.deepEqual(Buffer.from(writeConsumeResponse(opened)), reference(ConsumeResponseSchema, opened));
		for (const acknowledged of [0, 3, 300, 4_294_967_295]) {
			const answer = { kind: { case: "acknowledged" as const, value: { acknowledged, failures: [] } } };
			assert.deepEqual(
				Buffer.from(writeConsumeResponse(answer)),
				reference(ConsumeResponseSchema, create(ConsumeResponseSchema, answer)),
			);
		}
		const failed = {
			kind: {
				case: "acknowledged" as const,
				value: { acknowledged: 1, failures: [{ index: 1, id: "m2", code: 5, message: "not found" }] },
			},
		};
		assert.deepEqual(
			Buffer.from(writeConsumeResponse(failed)),
			reference(ConsumeResponseSchema, create(ConsumeResponseSchema, failed)),
		);
	});
});
