import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { BatchItemInputSchema } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { ConfigError } from "../../../kit/src/index.js";
import { loadBatchConfig } from "../batch-config.js";
import { itemViolations } from "./item-validation.js";

const limits = { maxPayloadBytes: 10 };

describe("item validation", () => {
	test("a valid item has no violations", () => {
		const item = create(BatchItemInputSchema, { taskId: "email", payload: new Uint8Array(10) });
		assert.deepEqual(itemViolations(0, item, limits), []);
	});

	test("each bad field is named under the item's index with its limit", () => {
		const item = create(BatchItemInputSchema, {
			taskId: "",
			payload: new Uint8Array(11),
			options: {
				idempotencyKey: "k".repeat(257),
				tags: ["a", ""],
				delay: durationFromMs(-1),
				ttl: durationFromMs(0),
				retry: { maxAttempts: -1 },
			},
		});
		assert.deepEqual(
			itemViolations(7, item, limits).map((v) => `${v.field}: ${v.description}`),
			[
				"items[7].task_id: is required",
				"items[7].payload: 11 bytes is over the limit of 10 bytes (BATCH_MAX_PAYLOAD_BYTES)",
				"items[7].options.idempotency_key: 257 characters is over the limit of 256",
				"items[7].options.tags[1]: must be 1 to 128 characters",
				"items[7].options.ttl: must be positive",
				"items[7].options.delay: must not be negative",
				"items[7].options.retry.max_attempts: must not be negative",
			],
		);
	});
});

describe("batch configuration", () => {
	test("defaults apply when nothing is set", () => {
		const config = loadBatchConfig({});
		assert.deepEqual(
			[config.BATCH_DATABASE_SCHEMA, config.BATCH_CHUNK_SIZE, config.BATCH_MAX_INLINE_ITEMS],
			["batch", 1000, 1000],
		);
	});

	test("a bad variable is named with what is accepted", () => {
		assert.throws(
			() => loadBatchConfig({ BATCH_CHUNK_SIZE: "5000", BATCH_DATABASE_SCHEMA: "Bad-Name" }),
			(error: unknown) =>
				error instanceof ConfigError &&
				/BATCH_CHUNK_SIZE="5000": expected a whole number from 1 to 1000/.test(error.message) &&
				/BATCH_DATABASE_SCHEMA="Bad-Name"/.test(error.message),
		);
	});
});
