import type { Duration } from "@bufbuild/protobuf/wkt";
import type { BatchItemInput } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import type { FieldViolation } from "../../../kit/src/index.js";
import type { ItemToCreate } from "../core/types.js";
import type { ItemBody } from "./item-body.js";

/** Limits an item is checked against before any child is created. */
export interface ItemLimits {
	maxPayloadBytes: number;
}

const MAX_TASK_ID = 128;
const MAX_PAYLOAD_TYPE = 128;
const MAX_IDEMPOTENCY_KEY = 256;
const MAX_TAGS = 10;
const MAX_TAG = 128;

/** Milliseconds of a Duration. */
export function durationMs(duration: Duration): number {
	return Number(duration.seconds) * 1_000 + Math.floor(duration.nanos / 1_000_000);
}

/**
 * Checks one item as far as the batch service can (the scheduler judges what
 * only it knows, such as whether the task exists) and returns each problem
 * with a field path under `at` (for example `items[42]`).
 */
export function itemViolations(at: string, item: BatchItemInput, limits: ItemLimits): FieldViolation[] {
	const out: FieldViolation[] = [];
	const bad = (field: string, description: string) => out.push({ field: `${at}.${field}`, description });
	if (item.taskId === "") bad("task_id", "is required");
	else if (item.taskId.length > MAX_TASK_ID)
		bad("task_id", `${item.taskId.length} characters is over the limit of ${MAX_TASK_ID}`);
	if (item.payload.byteLength > limits.maxPayloadBytes) {
		bad(
			"payload",
			`${item.payload.byteLength} bytes is over the limit of ${limits.maxPayloadBytes} bytes (BATCH_MAX_PAYLOAD_BYTES)`,
		);
	}
	if (item.payloadType.length > MAX_PAYLOAD_TYPE)
		bad("payload_type", `is over ${MAX_PAYLOAD_TYPE} characters`);
	const options = item.options;
	if (options === undefined) return out;
	if (options.idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
		bad(
			"options.idempotency_key",
			`${options.idempotencyKey.length} characters is over the limit of ${MAX_IDEMPOTENCY_KEY}`,
		);
	}
	if (options.tags.length > MAX_TAGS)
		bad("options.tags", `${options.tags.length} tags is over the limit of ${MAX_TAGS}`);
	options.tags.forEach((tag, i) => {
		if (tag.length < 1 || tag.length > MAX_TAG)
			bad(`options.tags[${i}]`, `must be 1 to ${MAX_TAG} characters`);
	});
	const positive: [string, Duration | undefined][] = [
		["options.idempotency_key_ttl", options.idempotencyKeyTtl],
		["options.ttl", options.ttl],
		["options.max_duration", options.maxDuration],
	];
	for (const [field, value] of positive) {
		if (value !== undefined && durationMs(value) <= 0) bad(field, "must be positive");
	}
	if (options.delay !== undefined && durationMs(options.delay) < 0)
		bad("options.delay", "must not be negative");
	const retry = options.retry;
	if (retry !== undefined) {
		if (retry.maxAttempts < 0) bad("options.retry.max_attempts", "must not be negative");
		if (retry.factor < 0) bad("options.retry.factor", "must not be negative");
	}
	return out;
}

/** The core's form of a valid item. */
export function itemToCreate(index: number, item: BatchItemInput): ItemToCreate {
	const body: ItemBody = {
		taskId: item.taskId,
		payload: item.payload,
		payloadType: item.payloadType,
		options: item.options,
	};
	return { index, taskId: item.taskId, body };
}
