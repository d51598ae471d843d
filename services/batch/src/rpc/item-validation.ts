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

/** What itemViolations returns for a valid item: nothing is allocated for it. */
const NO_VIOLATIONS: readonly FieldViolation[] = Object.freeze([]);

/** Durations an item's options may carry that must be positive when set. */
const POSITIVE_DURATIONS = [
	["options.idempotency_key_ttl", "idempotencyKeyTtl"],
	["options.ttl", "ttl"],
	["options.max_duration", "maxDuration"],
] as const;

/**
 * Checks one item as far as the batch service can (the scheduler judges what
 * only it knows, such as whether the task exists) and returns each problem
 * with a field path under `items[index]`. It runs for every item of a batch, so
 * a valid item costs no allocation: no closure, array or path string.
 */
export function itemViolations(
	index: number,
	item: BatchItemInput,
	limits: ItemLimits,
): readonly FieldViolation[] {
	let out: FieldViolation[] | undefined;
	if (item.taskId === "") out = violation(out, index, "task_id", "is required");
	else if (item.taskId.length > MAX_TASK_ID)
		out = violation(
			out,
			index,
			"task_id",
			`${item.taskId.length} characters is over the limit of ${MAX_TASK_ID}`,
		);
	if (item.payload.byteLength > limits.maxPayloadBytes) {
		out = violation(
			out,
			index,
			"payload",
			`${item.payload.byteLength} bytes is over the limit of ${limits.maxPayloadBytes} bytes (BATCH_MAX_PAYLOAD_BYTES)`,
		);
	}
	if (item.payloadType.length > MAX_PAYLOAD_TYPE)
		out = violation(out, index, "payload_type", `is over ${MAX_PAYLOAD_TYPE} characters`);
	const options = item.options;
	if (options === undefined) return out ?? NO_VIOLATIONS;
	if (options.idempotencyKey.length > MAX_IDEMPOTENCY_KEY) {
		out = violation(
			out,
			index,
			"options.idempotency_key",
			`${options.idempotencyKey.length} characters is over the limit of ${MAX_IDEMPOTENCY_KEY}`,
		);
	}
	const tags = options.tags;
	if (tags.length > MAX_TAGS)
		out = violation(out, index, "options.tags", `${tags.length} tags is over the limit of ${MAX_TAGS}`);
	for (let i = 0; i < tags.length; i++) {
		const length = (tags[i] as string).length;
		if (length < 1 || length > MAX_TAG)
			out = violation(out, index, `options.tags[${i}]`, `must be 1 to ${MAX_TAG} characters`);
	}
	for (const [field, key] of POSITIVE_DURATIONS) {
		const value = options[key];
		if (value !== undefined && durationMs(value) <= 0) out = violation(out, index, field, "must be positive");
	}
	if (options.delay !== undefined && durationMs(options.delay) < 0)
		out = violation(out, index, "options.delay", "must not be negative");
	const retry = options.retry;
	if (retry !== undefined) {
		if (retry.maxAttempts < 0)
			out = violation(out, index, "options.retry.max_attempts", "must not be negative");
		if (retry.factor < 0) out = violation(out, index, "options.retry.factor", "must not be negative");
	}
	return out ?? NO_VIOLATIONS;
}

/** Adds a problem of item `index`'s field to the list, making the list on the first. */
function violation(
	out: FieldViolation[] | undefined,
	index: number,
	field: string,
	description: string,
): FieldViolation[] {
	const list = out ?? [];
	list.push({ field: `items[${index}].${field}`, description });
	return list;
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
