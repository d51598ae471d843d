import { encodeHeader } from "./message-codec.js";
import type { NewMessage } from "./types.js";

/**
 * The bytes of one message as enqueue-1.lua reads them with Redis's struct library,
 * `struct.unpack(">Hc0Hc0Hc0i4dHc0Hc0I4c0I4c0", group, pos)`: id, queue and
 * concurrency key (each a 16-bit length and its UTF-8 bytes), priority (32-bit signed),
 * available-at (a double: milliseconds are exact in it), cpu and memory as text (kept
 * as the producer wrote them: a double would come back as 0.10000000000000001), then
 * payload and header (each a 32-bit length and its bytes). Big-endian throughout.
 *
 * Three script arguments per message cost the client a bulk string each to frame and
 * Redis one to parse and to turn into a Lua string, and the script split the first of
 * them again in Lua; one argument holding many messages, each read by one call into C,
 * costs less on both sides.
 */

/** Most bytes one argument holds before the next begins (a message is never split). */
export const GROUP_BYTES = 8 * 1024 * 1024;

/** Bytes a message may need at most (UTF-8 takes at most 3 bytes per UTF-16 unit). */
function boundOf(m: NewMessage, cpu: string, memory: string, header: string): number {
	return (
		2 * 5 +
		4 +
		8 +
		4 * 2 +
		3 *
			(m.id.length + m.queue.length + m.concurrencyKey.length + cpu.length + memory.length + header.length) +
		m.payload.byteLength
	);
}

function shortText(out: Buffer, at: number, value: string): number {
	const length = out.write(value, at + 2, "utf8");
	out.writeUInt16BE(length, at);
	return at + 2 + length;
}

function longText(out: Buffer, at: number, value: string): number {
	const length = out.write(value, at + 4, "utf8");
	out.writeUInt32BE(length, at);
	return at + 4 + length;
}

/**
 * The script arguments holding `count` messages: message `k` is messages[indexes[k]],
 * or messages[k] when indexes is undefined. Each argument holds whole messages and at
 * most GROUP_BYTES unless one message alone is larger.
 */
export function packEnqueueMessages(
	messages: readonly NewMessage[],
	indexes: readonly number[] | undefined,
	count: number,
	now: number,
): Buffer[] {
	const groups: Buffer[] = [];
	let out = Buffer.allocUnsafe(0);
	let at = 0;
	for (let k = 0; k < count; k++) {
		const m = messages[indexes === undefined ? k : (indexes[k] as number)] as NewMessage;
		const cpu = String(m.resources?.cpu ?? 0);
		const memory = String(m.resources?.memoryGb ?? 0);
		const header = encodeHeader(m, now);
		const bound = boundOf(m, cpu, memory, header);
		if (at + bound > out.length) {
			if (at > 0) groups.push(out.subarray(0, at));
			// Sized for what is left at this message's size, within the group's limit, so a
			// request of similar messages fills one buffer.
			out = Buffer.allocUnsafe(Math.max(bound, Math.min(GROUP_BYTES, bound * (count - k))));
			at = 0;
		}
		at = shortText(out, at, m.id);
		at = shortText(out, at, m.queue);
		at = shortText(out, at, m.concurrencyKey);
		at = out.writeInt32BE(m.priority, at);
		at = out.writeDoubleBE(m.availableAt ?? now, at);
		at = shortText(out, at, cpu);
		at = shortText(out, at, memory);
		out.writeUInt32BE(m.payload.byteLength, at);
		out.set(m.payload, at + 4);
		at += 4 + m.payload.byteLength;
		at = longText(out, at, header);
	}
	if (at > 0) groups.push(out.subarray(0, at));
	return groups;
}
