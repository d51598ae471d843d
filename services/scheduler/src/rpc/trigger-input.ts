import type { TriggerRunRequest } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { TriggerInput, TriggerOptionsInput } from "../core/run-types.js";
import { machineFromProto, msOf, retryFromProto } from "./proto-convert.js";

/** A TriggerRunRequest as the core's input (validation happens in the core). */
export function triggerInputFrom(
	request: TriggerRunRequest,
	environmentId = request.environmentId,
): TriggerInput {
	const o = request.options;
	const options: TriggerOptionsInput = {};
	if (o !== undefined) {
		if (o.queue !== "") options.queue = o.queue;
		if (o.concurrencyKey !== "") options.concurrencyKey = o.concurrencyKey;
		if (o.idempotencyKey !== "") options.idempotencyKey = o.idempotencyKey;
		const set = <K extends keyof TriggerOptionsInput>(key: K, value: TriggerOptionsInput[K] | undefined) => {
			if (value !== undefined) options[key] = value;
		};
		set("idempotencyKeyTtlMs", msOf(o.idempotencyKeyTtl));
		set("delayMs", msOf(o.delay));
		set("ttlMs", msOf(o.ttl));
		set("maxDurationMs", msOf(o.maxDuration));
		set("retry", retryFromProto(o.retry));
		set("machine", machineFromProto(o.machine));
		if (o.tags.length > 0) options.tags = [...o.tags];
		if (o.priority !== 0) options.priority = o.priority;
		if (o.metadata !== undefined) options.metadata = o.metadata;
		if (o.deploymentVersion !== "") options.deploymentVersion = o.deploymentVersion;
	}
	const input: TriggerInput = {
		environmentId,
		taskId: request.taskId,
		payload: request.payload,
		payloadType: request.payloadType,
		options,
	};
	// A parent with any field set is kept, so one without run_id is refused by name
	// (validateTrigger) instead of dropped: a dropped parent.wait left the caller
	// believing its run waited for a child that had no parent.
	const p = request.parent;
	if (p !== undefined && (p.runId !== "" || p.attemptId !== "" || p.wait)) {
		input.parent = {
			runId: p.runId,
			attemptId: p.attemptId,
			wait: p.wait,
		};
	}
	return input;
}
