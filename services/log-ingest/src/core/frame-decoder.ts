import { ChunkError, decodeChunk } from "../../../../packages/log-chunking/src/index.js";
import {
	type IncomingChunk,
	type IncomingHeader,
	type LogStoreSettings,
	messageKey,
	type Rejection,
} from "./types.js";

/** A chunk whose data inflated cleanly, with its decompressed size. */
export interface DecodedChunk {
	chunk: IncomingChunk;
	rawSize: number;
}

/** The chunks of one message found in one frame, decoded and in sequence order. */
export interface MessageGroup {
	key: string;
	environmentId: string;
	runId: string;
	messageId: string;
	chunks: DecodedChunk[];
	header: IncomingHeader | undefined;
	/** The first inlineBodyBytes of chunk 0 decoded, when chunk 0 is in the frame. */
	head: Uint8Array | undefined;
	/** Chunks repeated inside this same frame. */
	duplicatesInFrame: number;
	/** Set when a chunk of the message cannot be decoded: the message is refused. */
	error: Rejection | undefined;
}

// Two inflations at once keeps both cores busy while bounding what a frame can
// allocate to two chunks' worth of decompressed bytes, however many it carries.
const DECODE_CONCURRENCY = 2;

/**
 * Groups a frame's chunks by message, drops repeats inside the frame and inflates
 * every chunk to check it and learn its size. Only chunk 0's head is kept; the rest
 * of the decompressed bytes are dropped at once, which keeps memory flat.
 */
export async function decodeFrame(
	chunks: IncomingChunk[],
	settings: LogStoreSettings,
): Promise<MessageGroup[]> {
	const groups = new Map<string, MessageGroup>();
	const work: Array<{ group: MessageGroup; chunk: IncomingChunk }> = [];
	const seen = new Set<string>();
	for (const chunk of chunks) {
		const key = messageKey(chunk);
		let group = groups.get(key);
		if (group === undefined) {
			group = {
				key,
				environmentId: chunk.environmentId,
				runId: chunk.runId,
				messageId: chunk.messageId,
				chunks: [],
				header: undefined,
				head: undefined,
				duplicatesInFrame: 0,
				error: undefined,
			};
			groups.set(key, group);
		}
		const place = `${key}\u0000${chunk.sequence}`;
		if (seen.has(place)) {
			group.duplicatesInFrame += 1;
			continue;
		}
		seen.add(place);
		work.push({ group, chunk });
	}
	let next = 0;
	const worker = async () => {
		while (next < work.length) {
			const item = work[next++] as { group: MessageGroup; chunk: IncomingChunk };
			if (item.group.error !== undefined) continue;
			try {
				const raw = await decodeChunk(item.chunk.compression, item.chunk.data, settings.limits.maxChunkBytes);
				item.group.chunks.push({ chunk: item.chunk, rawSize: raw.byteLength });
				if (item.chunk.sequence === 0) {
					// Copy the head out so the rest of the decompressed buffer can be freed.
					item.group.head = Uint8Array.prototype.slice.call(raw, 0, settings.inlineBodyBytes);
				}
				if (item.chunk.header !== undefined) item.group.header = item.chunk.header;
			} catch (error) {
				item.group.error = rejectionOf(error, item.chunk);
			}
		}
	};
	await Promise.all(Array.from({ length: DECODE_CONCURRENCY }, worker));
	for (const group of groups.values()) group.chunks.sort((a, b) => a.chunk.sequence - b.chunk.sequence);
	return [...groups.values()];
}

/** Turns a chunk rule violation into the rejection reported for its message. */
export function rejectionOf(error: unknown, chunk: { index: number; messageId: string }): Rejection {
	if (!(error instanceof ChunkError)) throw error;
	return {
		index: chunk.index,
		messageId: chunk.messageId,
		kind: error.kind === "too-large" ? "too-large" : "invalid",
		message: error.message,
	};
}
