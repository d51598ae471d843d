import { encodeReceipt } from "./receipt.js";
import type { Delivery, NewMessage, StoredMessage } from "./types.js";

type Raw = Buffer | number | string | null;

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

/** The script arguments of one message (12, as enqueue-1.lua reads them). */
export function enqueueArgs(m: NewMessage, now: number): Array<string | number | Buffer> {
	const labels = Object.keys(m.metadata.labels).length === 0 ? "" : JSON.stringify(m.metadata.labels);
	return [
		m.id,
		m.queue,
		m.concurrencyKey,
		Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
		m.priority,
		m.availableAt ?? now,
		m.resources?.cpu ?? 0,
		m.resources?.memoryGb ?? 0,
		m.metadata.runId,
		m.metadata.taskId,
		m.metadata.attempt,
		labels,
	];
}

function labelsOf(value: Raw | undefined): Record<string, string> {
	const s = text(value);
	return s === "" ? {} : (JSON.parse(s) as Record<string, string>);
}

/**
 * A stored message from reply fields in this order: payload, priority,
 * enqueued-at, available-at, cpu, memory, run, task, attempt, labels, nacks.
 */
export function storedMessage(
	environmentId: string,
	id: string,
	queue: string,
	concurrencyKey: string,
	f: Raw[],
	at: number,
): StoredMessage {
	const payload = f[at];
	return {
		id,
		environmentId,
		queue,
		concurrencyKey,
		payload: Buffer.isBuffer(payload) ? payload : Buffer.from(text(payload)),
		priority: num(f[at + 1]),
		enqueuedAt: num(f[at + 2]),
		availableAt: num(f[at + 3]),
		resources: { cpu: num(f[at + 4]), memoryGb: num(f[at + 5]) },
		metadata: {
			runId: text(f[at + 6]),
			taskId: text(f[at + 7]),
			attempt: num(f[at + 8]),
			labels: labelsOf(f[at + 9]),
		},
		nackCount: num(f[at + 10]),
	};
}

/** Fields per delivery in deliver-1.lua's reply. */
const DELIVERY_FIELDS = 17;

/** Deliveries from deliver-1.lua's flat reply. */
export function decodeDeliveries(environmentId: string, flat: Raw[]): Delivery[] {
	const out: Delivery[] = [];
	for (let o = 0; o < flat.length; o += DELIVERY_FIELDS) {
		const id = text(flat[o]);
		out.push({
			message: storedMessage(environmentId, id, text(flat[o + 1]), text(flat[o + 2]), flat, o + 3),
			receipt: encodeReceipt({ environmentId, messageId: id, token: text(flat[o + 14]) }),
			deliveryCount: num(flat[o + 15]),
			visibleUntil: num(flat[o + 16]),
		});
	}
	return out;
}
