import { encodeReceipt } from "./receipt.js";
import type { Delivery, NewMessage, StoredMessage } from "./types.js";

type Raw = Buffer | number | string | null;

/** Separates the parts of a header; names and ids never contain it (the rpc layer checks). */
const SEP = "\x1f";

/** A script reply field as text. */
export function text(value: Raw | undefined): string {
	if (value === null || value === undefined) return "";
	return typeof value === "string" ? value : value.toString();
}

/** A script reply field as a number (0 when empty). */
export function num(value: Raw | undefined): number {
	if (typeof value === "number") return value;
	const s = text(value);
	return s === "" ? 0 : Number(s);
}

/**
 * The header: what only the service reads back (run, task, attempt, enqueued-at,
 * priority, cpu, memory, labels as JSON), stored as one field so a delivery
 * returns it as one string instead of eight. JSON escapes control characters,
 * so the separator never appears inside the labels.
 */
export function encodeHeader(m: NewMessage, now: number): string {
	const labels = hasKeys(m.metadata.labels) ? JSON.stringify(m.metadata.labels) : "";
	return `${m.metadata.runId}${SEP}${m.metadata.taskId}${SEP}${m.metadata.attempt}${SEP}${now}${SEP}${m.priority}${SEP}${m.resources?.cpu ?? 0}${SEP}${m.resources?.memoryGb ?? 0}${SEP}${labels}`;
}

function hasKeys(record: Record<string, string>): boolean {
	for (const _ in record) return true;
	return false;
}

/** Run, task and enqueue time from a header (what lifecycle lines need). */
export function headerIds(header: string): { runId: string; taskId: string; enqueuedAt: number } {
	const [runId = "", taskId = "", , enqueuedAt = "0"] = header.split(SEP);
	return { runId, taskId, enqueuedAt: Number(enqueuedAt) };
}

function labelsOf(json: string): Record<string, string> {
	return json === "" ? {} : (JSON.parse(json) as Record<string, string>);
}

/** A stored message from its parts as the scripts return them. */
export function storedMessage(
	environmentId: string,
	id: string,
	queue: string,
	concurrencyKey: string,
	payload: Raw,
	header: Raw,
	availableAt: number,
	nackCount: number,
): StoredMessage {
	const [
		runId = "",
		taskId = "",
		attempt = "0",
		enqueuedAt = "0",
		priority = "0",
		cpu = "0",
		memory = "0",
		labels = "",
	] = text(header).split(SEP);
	return {
		id,
		environmentId,
		queue,
		concurrencyKey,
		payload: Buffer.isBuffer(payload) ? payload : Buffer.from(text(payload)),
		priority: Number(priority),
		enqueuedAt: Number(enqueuedAt),
		availableAt,
		resources: { cpu: Number(cpu), memoryGb: Number(memory) },
		metadata: { runId, taskId, attempt: Number(attempt), labels: labelsOf(labels) },
		nackCount,
	};
}

/** Deliveries from deliver-1.lua's flat reply (payload, header, joined rest). */
export function decodeDeliveries(environmentId: string, flat: Raw[]): Delivery[] {
	const out: Delivery[] = [];
	for (let o = 0; o < flat.length; o += 3) {
		const [id = "", queue = "", key = "", availableAt, nacks, token = "", count, visibleUntil] = text(
			flat[o + 2],
		).split(SEP);
		out.push({
			message: storedMessage(
				environmentId,
				id,
				queue,
				key,
				flat[o] ?? null,
				flat[o + 1] ?? null,
				Number(availableAt),
				Number(nacks),
			),
			receipt: encodeReceipt({ environmentId, messageId: id, token }),
			deliveryCount: Number(count),
			visibleUntil: Number(visibleUntil),
		});
	}
	return out;
}
