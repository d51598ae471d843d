import type { EnqueueMessage } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { NewMessage } from "../core/types.js";
import { resourcesOf } from "./consumer-input.js";
import { Violations } from "./violations.js";

/** Highest and lowest priority; the stored order score needs a bounded range. */
export const MAX_PRIORITY = 1000;
/** Longest delay, one year. */
const MAX_DELAY_MS = 365 * 24 * 3600 * 1000;
const MAX_LABELS = 32;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\x00-\x1f]/;

/**
 * Validates an Enqueue (or EnqueueStream) request whole and converts it; throws
 * INVALID_ARGUMENT naming every bad field and limit before anything is stored.
 */
export function enqueueInput(
	request: { messages: EnqueueMessage[] },
	maxPayloadBytes: number,
	now: number,
): NewMessage[] {
	const v = new Violations();
	v.batch("messages", request.messages.length);
	const seen = new Set<string>();
	const out: NewMessage[] = [];
	request.messages.forEach((m, i) => {
		const f = `messages[${i}]`;
		v.ident(`${f}.id`, m.id, true);
		const key = `${m.environmentId}|${m.id}`;
		if (m.id !== "" && seen.has(key)) v.add(`${f}.id`, `"${m.id}" appears twice in this request`);
		seen.add(key);
		v.name(`${f}.environment_id`, m.environmentId);
		v.name(`${f}.queue`, m.queue);
		v.ident(`${f}.concurrency_key`, m.concurrencyKey, false);
		if (m.payload.byteLength === 0) v.add(`${f}.payload`, "must not be empty");
		else if (m.payload.byteLength > maxPayloadBytes) {
			v.add(
				`${f}.payload`,
				`${m.payload.byteLength} bytes is over the limit of ${maxPayloadBytes} bytes (QUEUE_MAX_PAYLOAD_BYTES)`,
			);
		}
		v.range(`${f}.priority`, m.priority, -MAX_PRIORITY, MAX_PRIORITY);
		let availableAt: number | undefined;
		if (m.availability.case === "delay") {
			const ms = v.durationExactMs(`${f}.delay`, m.availability.value);
			if (ms !== undefined) {
				if (ms < 0) v.add(`${f}.delay`, `${ms} ms is negative; a delay must be 0 or more`);
				else if (ms > MAX_DELAY_MS)
					v.add(`${f}.delay`, `${ms} ms is over the limit of ${MAX_DELAY_MS} ms (one year)`);
				else availableAt = now + Math.round(ms);
			}
		} else if (m.availability.case === "availableAt") {
			const at = v.timestamp(`${f}.available_at`, m.availability.value);
			if (at !== undefined && at - now > MAX_DELAY_MS)
				v.add(`${f}.available_at`, "is more than one year ahead");
			else if (at !== undefined) availableAt = Math.max(at, 0);
		}
		const resources = resourcesOf(v, `${f}.resources`, m.resources);
		const meta = m.metadata;
		if (meta !== undefined) {
			metadataText(v, f, "run_id", meta.runId);
			metadataText(v, f, "task_id", meta.taskId);
			if (meta.attempt < 0) v.add(`${f}.metadata.attempt`, `${meta.attempt} is negative`);
			const labels = Object.entries(meta.labels);
			if (labels.length > MAX_LABELS)
				v.add(`${f}.metadata.labels`, `${labels.length} labels is over ${MAX_LABELS}`);
			for (const [k, value] of labels) {
				if (k.length > 128 || value.length > 256) {
					v.add(
						`${f}.metadata.labels`,
						`label "${k.slice(0, 40)}" is over 128 characters (key) or 256 (value)`,
					);
				}
			}
		}
		out.push({
			id: m.id,
			environmentId: m.environmentId,
			queue: m.queue,
			concurrencyKey: m.concurrencyKey,
			payload: m.payload,
			priority: m.priority,
			// Always both properties, undefined when unset: every message has one shape, and
			// no spread of a temporary object per message.
			availableAt,
			resources,
			metadata: {
				runId: meta?.runId ?? "",
				taskId: meta?.taskId ?? "",
				attempt: meta?.attempt ?? 0,
				labels: meta?.labels ?? {},
			},
		});
	});
	v.throwIfAny();
	return out;
}

/** A metadata text of a message: at most 256 characters, no control characters. */
function metadataText(v: Violations, item: string, name: string, value: string): void {
	if (value.length > 256)
		v.add(`${item}.metadata.${name}`, `${value.length} characters is over the limit of 256`);
	// Control characters separate the stored header's parts.
	else if (CONTROL.test(value)) v.add(`${item}.metadata.${name}`, "must not contain control characters");
}
