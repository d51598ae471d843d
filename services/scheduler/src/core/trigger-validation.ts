import { ServiceError } from "../../../kit/src/index.js";
import type { TriggerInput } from "./run-types.js";

/** Most tags a run may carry. */
export const MAX_TAGS = 10;
/** Longest tag. */
export const MAX_TAG_LENGTH = 128;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
const QUEUE_NAME = /^[A-Za-z0-9._\-/:]{1,128}$/;

/**
 * Checks what can be checked without the database; throws INVALID_ARGUMENT naming
 * the field (with `prefix`, e.g. "runs[3].") and the limit.
 */
export function validateTrigger(input: TriggerInput, maxPayloadBytes: number, prefix = ""): void {
	const o = input.options;
	const bad = (field: string, description: string) =>
		ServiceError.invalidField(`${prefix}${field}`, description);
	if (input.taskId === "") throw bad("task_id", "is required");
	if (input.payload.byteLength > maxPayloadBytes) {
		throw bad(
			"payload",
			`${input.payload.byteLength} bytes is over the limit of ${maxPayloadBytes} bytes (SCHEDULER_MAX_PAYLOAD_BYTES)`,
		);
	}
	const tags = o.tags ?? [];
	if (tags.length > MAX_TAGS)
		throw bad("options.tags", `${tags.length} tags is over the limit of ${MAX_TAGS}`);
	tags.forEach((tag, i) => {
		if (tag.length === 0 || tag.length > MAX_TAG_LENGTH) {
			throw bad(`options.tags[${i}]`, `must be 1 to ${MAX_TAG_LENGTH} characters, got ${tag.length}`);
		}
	});
	for (const [field, value] of [
		["options.delay", o.delayMs],
		["options.ttl", o.ttlMs],
		["options.max_duration", o.maxDurationMs],
		["options.idempotency_key_ttl", o.idempotencyKeyTtlMs],
	] as const) {
		if (value !== undefined && value < 0) throw bad(field, `must not be negative, got ${value} ms`);
	}
	if (o.queue !== undefined && o.queue !== "" && !QUEUE_NAME.test(o.queue)) {
		throw bad("options.queue", "expected 1 to 128 letters, digits or . _ - / :");
	}
	if ((o.idempotencyKey ?? "").length > MAX_IDEMPOTENCY_KEY_LENGTH) {
		throw bad("options.idempotency_key", `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
	}
	const r = o.retry;
	if (r !== undefined) {
		if (r.maxAttempts !== undefined && (r.maxAttempts < 1 || r.maxAttempts > 100)) {
			throw bad("options.retry.max_attempts", `must be 1 to 100, got ${r.maxAttempts}`);
		}
		if (r.factor !== undefined && !(r.factor >= 1 && r.factor <= 10)) {
			throw bad("options.retry.factor", `must be 1 to 10, got ${r.factor}`);
		}
		if (r.minTimeoutMs !== undefined && r.minTimeoutMs < 0)
			throw bad("options.retry.min_timeout", "must not be negative");
		if (r.maxTimeoutMs !== undefined && r.maxTimeoutMs < 0)
			throw bad("options.retry.max_timeout", "must not be negative");
	}
}
