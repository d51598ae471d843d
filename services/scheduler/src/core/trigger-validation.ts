import { durationOverLimit, MAX_DURATION_MS, ServiceError } from "../../../kit/src/index.js";
import { metadataWireBytes } from "./metadata-size.js";
import type { RetrySettings } from "./retry-delay.js";
import type { TriggerInput } from "./run-types.js";
import type { SchedulerLimits } from "./scheduler-context.js";

/** Most tags a run may carry. */
export const MAX_TAGS = 10;
/** Longest tag. */
export const MAX_TAG_LENGTH = 128;
/** Longest idempotency key. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 256;
/** A queue name the queue service takes. */
export const QUEUE_NAME = /^[A-Za-z0-9._\-/:]{1,128}$/;
/** What QUEUE_NAME allows, for messages. */
export const QUEUE_NAME_RULE = "expected 1 to 128 letters, digits or . _ - / :";

/** The limits a trigger is checked against. */
export type TriggerLimits = Pick<SchedulerLimits, "maxPayloadBytes" | "maxMetadataBytes">;

/**
 * Checks what can be checked without the database; throws INVALID_ARGUMENT naming
 * the field (prefixed "runs[3]." when the trigger is item 3 of a call) and the limit.
 */
export function validateTrigger(input: TriggerInput, limits: TriggerLimits, item?: number): void {
	// No closure or array is made per call: a batch validates every one of its runs here,
	// and under tsx each function made at run time also costs a defineProperty (its name).
	const o = input.options;
	if (input.taskId === "") throw invalid(item, "task_id", "is required");
	if (input.parent !== undefined && input.parent.runId === "") {
		throw invalid(item, "parent.run_id", "is required when parent.attempt_id or parent.wait is set");
	}
	// PostgreSQL text cannot hold U+0000: refused here by name, not by the insert.
	noNul(item, "environment_id", input.environmentId);
	noNul(item, "task_id", input.taskId);
	noNul(item, "payload_type", input.payloadType);
	noNul(item, "options.concurrency_key", o.concurrencyKey);
	noNul(item, "options.idempotency_key", o.idempotencyKey);
	noNul(item, "options.deployment_version", o.deploymentVersion);
	const { maxPayloadBytes } = limits;
	if (input.payload.byteLength > maxPayloadBytes) {
		throw invalid(
			item,
			"payload",
			`${input.payload.byteLength} bytes is over the limit of ${maxPayloadBytes} bytes (SCHEDULER_MAX_PAYLOAD_BYTES)`,
		);
	}
	const wrongMetadata = metadataViolation(o.metadata, limits.maxMetadataBytes);
	if (wrongMetadata !== undefined) throw invalid(item, "options.metadata", wrongMetadata);
	const tags = o.tags;
	if (tags !== undefined) {
		if (tags.length > MAX_TAGS)
			throw invalid(item, "options.tags", `${tags.length} tags is over the limit of ${MAX_TAGS}`);
		for (let i = 0; i < tags.length; i++) {
			const length = characterCount(tags[i] as string, MAX_TAG_LENGTH);
			if (length === 0 || length > MAX_TAG_LENGTH) {
				throw invalid(item, `options.tags[${i}]`, `must be 1 to ${MAX_TAG_LENGTH} characters, got ${length}`);
			}
			noNul(item, `options.tags[${i}]`, tags[i]);
		}
	}
	withinDurationLimit(item, "options.delay", o.delayMs);
	withinDurationLimit(item, "options.ttl", o.ttlMs);
	withinDurationLimit(item, "options.max_duration", o.maxDurationMs);
	withinDurationLimit(item, "options.idempotency_key_ttl", o.idempotencyKeyTtlMs);
	if (o.queue !== undefined && o.queue !== "" && !QUEUE_NAME.test(o.queue)) {
		throw invalid(item, "options.queue", QUEUE_NAME_RULE);
	}
	const keyLength = characterCount(o.idempotencyKey ?? "", MAX_IDEMPOTENCY_KEY_LENGTH);
	if (keyLength > MAX_IDEMPOTENCY_KEY_LENGTH) {
		throw invalid(
			item,
			"options.idempotency_key",
			`must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${keyLength}`,
		);
	}
	if (o.retry !== undefined) {
		const wrong = retryViolation(o.retry);
		if (wrong !== undefined) throw invalid(item, `options.retry.${wrong.field}`, wrong.description);
	}
}

/**
 * Why a run's metadata is too large, if it is. Every read of the run carries it
 * (ListRuns and GetRuns by the hundred), so without a bound two runs of 9 MiB made
 * those answers pass the gRPC message limit.
 */
export function metadataViolation(metadata: unknown, maxMetadataBytes: number): string | undefined {
	if (metadata === null || metadata === undefined) return undefined;
	const bytes = metadataWireBytes(metadata);
	if (bytes <= maxMetadataBytes) return undefined;
	return `${bytes} bytes (encoded as a google.protobuf.Struct) is over the limit of ${maxMetadataBytes} bytes (SCHEDULER_MAX_METADATA_BYTES)`;
}

/** The first setting of a retry policy out of its bounds, named within the policy. */
export function retryViolation(
	r: Partial<RetrySettings>,
): { field: string; description: string } | undefined {
	if (r.maxAttempts !== undefined && (r.maxAttempts < 1 || r.maxAttempts > 100))
		return { field: "max_attempts", description: `must be 1 to 100, got ${r.maxAttempts}` };
	if (r.factor !== undefined && !(r.factor >= 1 && r.factor <= 10))
		return { field: "factor", description: `must be 1 to 10, got ${r.factor}` };
	const min = durationViolation(r.minTimeoutMs);
	if (min !== undefined) return { field: "min_timeout", description: min };
	const max = durationViolation(r.maxTimeoutMs);
	if (max !== undefined) return { field: "max_timeout", description: max };
	return undefined;
}

/** Why a duration in ms is out of bounds (negative, or over MAX_DURATION_MS), if it is. */
export function durationViolation(value: number | undefined): string | undefined {
	if (value === undefined) return undefined;
	if (value < 0) return `must not be negative, got ${value} ms`;
	if (value > MAX_DURATION_MS) return durationOverLimit(value);
	return undefined;
}

/** A duration a trigger may set, in ms: refused when negative or over MAX_DURATION_MS. */
function withinDurationLimit(item: number | undefined, field: string, value: number | undefined): void {
	const wrong = durationViolation(value);
	if (wrong !== undefined) throw invalid(item, field, wrong);
}

/**
 * Characters (code points) of a text, as a person counts them: an emoji is one, where
 * String.length counts it as two UTF-16 units and refused a tag of 100 emoji as 200.
 * Counted only past `limit` units (a text within it in units is within it in code
 * points), so the usual short tag or key costs nothing more. The stored limits stay
 * safe: 128 or 256 code points are at most 512 or 1,024 bytes of UTF-8, well within
 * what the tags' GIN index and the keys' unique index take per entry.
 */
function characterCount(text: string, limit: number): number {
	return text.length <= limit ? text.length : [...text].length;
}

function noNul(item: number | undefined, field: string, value: string | undefined): void {
	if (value?.includes("\u0000")) throw invalid(item, field, "contains a NUL character (U+0000)");
}

/** The refusal of a field; the item's prefix is built here, only when something is refused. */
function invalid(item: number | undefined, field: string, description: string): ServiceError {
	return ServiceError.invalidField(item === undefined ? field : `runs[${item}].${field}`, description);
}
