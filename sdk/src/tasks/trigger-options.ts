import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import type { MachineSchema, RetryPolicySchema } from "../../../gen/taskmesh/common/v1/common_pb.js";
import type { TriggerOptionsSchema } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { TaskmeshValidationError } from "../client/errors.js";
import { type DurationInput, durationMs, protoDuration } from "./duration.js";
import { JSON_TYPE, serialize } from "./payload.js";

/** A machine: a preset name such as "small-1x" or "large-2x", or custom resources (rounded up to a preset). */
export type MachineInput = string | { cpu: number; memoryGb: number };

/** How failed attempts are retried; unset fields take the platform defaults (3 attempts, factor 2, 1 s to 60 s). */
export interface RetryOptions {
	maxAttempts?: number;
	factor?: number;
	minTimeoutInMs?: number;
	maxTimeoutInMs?: number;
	randomize?: boolean;
}

/** Options of one trigger; each overrides the task's default. */
export interface TriggerOptions {
	queue?: string;
	concurrencyKey?: string;
	idempotencyKey?: string;
	idempotencyKeyTTL?: DurationInput;
	/** Start no earlier than this long from now, or than this date. */
	delay?: DurationInput | Date;
	/** Expire the run when it has not started this long after it was queued. */
	ttl?: DurationInput;
	tags?: string[];
	retry?: RetryOptions;
	priority?: number;
	/** Seconds (or a duration string) an attempt may run before it is stopped. */
	maxDuration?: DurationInput;
	metadata?: Record<string, unknown>;
	machine?: MachineInput;
	/** Run on this deployment version instead of the current one. */
	version?: string;
}

/** One run to trigger, in wire form. */
export interface TriggerItem {
	taskId: string;
	payload: Uint8Array;
	payloadType: string;
	options: MessageInitShape<typeof TriggerOptionsSchema>;
}

/** Builds a wire item from a task id, a payload and options, checking each. */
export function triggerItem(
	taskId: string,
	payload: unknown,
	options: TriggerOptions = {},
	field = "",
): TriggerItem {
	if (typeof taskId !== "string" || taskId.trim() === "") {
		throw invalid(`${field}taskId`, "a task id is required");
	}
	return {
		taskId,
		payload: serialize(`${field}payload`, payload),
		payloadType: JSON_TYPE,
		options: triggerOptions(options, `${field}options`),
	};
}

/** The wire form of trigger options; `field` prefixes the names in errors. */
export function triggerOptions(
	options: TriggerOptions,
	field = "options",
): MessageInitShape<typeof TriggerOptionsSchema> {
	if (typeof options !== "object" || options === null) throw invalid(field, "options must be an object");
	const out: MessageInitShape<typeof TriggerOptionsSchema> = {};
	if (options.queue !== undefined) out.queue = text(`${field}.queue`, options.queue);
	if (options.concurrencyKey !== undefined)
		out.concurrencyKey = text(`${field}.concurrencyKey`, options.concurrencyKey);
	if (options.idempotencyKey !== undefined)
		out.idempotencyKey = text(`${field}.idempotencyKey`, options.idempotencyKey);
	if (options.idempotencyKeyTTL !== undefined) {
		out.idempotencyKeyTtl = protoDuration(
			durationMs(`${field}.idempotencyKeyTTL`, options.idempotencyKeyTTL),
		);
	}
	if (options.delay !== undefined) {
		const ms =
			options.delay instanceof Date
				? Math.max(0, options.delay.getTime() - Date.now())
				: durationMs(`${field}.delay`, options.delay);
		out.delay = protoDuration(ms);
	}
	if (options.ttl !== undefined) out.ttl = protoDuration(durationMs(`${field}.ttl`, options.ttl));
	if (options.tags !== undefined) {
		if (!Array.isArray(options.tags) || options.tags.some((t) => typeof t !== "string")) {
			throw invalid(`${field}.tags`, "tags must be an array of strings");
		}
		out.tags = options.tags;
	}
	if (options.retry !== undefined) out.retry = retryPolicy(options.retry, `${field}.retry`);
	if (options.priority !== undefined) {
		if (!Number.isInteger(options.priority))
			throw invalid(`${field}.priority`, `${options.priority} is not an integer`);
		out.priority = options.priority;
	}
	if (options.maxDuration !== undefined) {
		out.maxDuration = protoDuration(durationMs(`${field}.maxDuration`, options.maxDuration));
	}
	if (options.metadata !== undefined) {
		serialize(`${field}.metadata`, options.metadata);
		// Struct fields take plain JSON objects in protobuf-es.
		out.metadata = JSON.parse(JSON.stringify(options.metadata)) as JsonObject;
	}
	if (options.machine !== undefined) out.machine = machine(options.machine, `${field}.machine`);
	if (options.version !== undefined) out.deploymentVersion = text(`${field}.version`, options.version);
	return out;
}

/** The wire form of a machine choice. */
export function machine(value: MachineInput, field: string): MessageInitShape<typeof MachineSchema> {
	if (typeof value === "string") {
		if (value.trim() === "") throw invalid(field, "a preset name is required");
		return { kind: { case: "preset", value } };
	}
	if (typeof value !== "object" || value === null || !(value.cpu > 0) || !(value.memoryGb > 0)) {
		throw invalid(field, "a machine is a preset name or { cpu, memoryGb } with both above 0");
	}
	return { kind: { case: "custom", value: { cpu: value.cpu, memoryGb: value.memoryGb } } };
}

/** The wire form of a retry policy. */
export function retryPolicy(retry: RetryOptions, field: string): MessageInitShape<typeof RetryPolicySchema> {
	const out: MessageInitShape<typeof RetryPolicySchema> = {};
	if (retry.maxAttempts !== undefined) {
		if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1) {
			throw invalid(`${field}.maxAttempts`, `${retry.maxAttempts} is not a whole number of 1 or more`);
		}
		out.maxAttempts = retry.maxAttempts;
	}
	if (retry.factor !== undefined) {
		if (!(retry.factor >= 1)) throw invalid(`${field}.factor`, `${retry.factor} is below 1`);
		out.factor = retry.factor;
	}
	if (retry.minTimeoutInMs !== undefined) {
		out.minTimeout = protoDuration(durationMs(`${field}.minTimeoutInMs`, retry.minTimeoutInMs / 1000));
	}
	if (retry.maxTimeoutInMs !== undefined) {
		out.maxTimeout = protoDuration(durationMs(`${field}.maxTimeoutInMs`, retry.maxTimeoutInMs / 1000));
	}
	if (retry.randomize !== undefined) out.randomize = retry.randomize;
	return out;
}

function text(field: string, value: unknown): string {
	if (typeof value !== "string" || value === "") throw invalid(field, "a non-empty string is required");
	return value;
}

function invalid(field: string, description: string): TaskmeshValidationError {
	return new TaskmeshValidationError(`${field}: ${description}`, {
		code: "INVALID_ARGUMENT",
		fieldViolations: [{ field, description }],
	});
}
