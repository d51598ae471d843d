import {
	ChunkError,
	decodeChunk,
	decodeChunkInPlace,
	IN_PLACE_BELOW_BYTES,
	isCompressed,
} from "../../../../packages/log-chunking/src/index.js";
import type { InflateThread } from "./inflate-thread.js";
import type { IncomingChunk, IncomingHeader, LogStoreSettings, Rejection } from "./types.js";

/** A chunk whose data inflated cleanly, with its decompressed size. */
export interface DecodedChunk {
	chunk: IncomingChunk;
	rawSize: number;
}

/** The chunks of one message found in one frame, decoded and in sequence order. */
export interface MessageGroup {
	/** Environment, run and message id (messageKey). */
	key: string;
	/** Environment and run: the run whose cursor the message takes. */
	runKey: string;
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

// A frame with fewer compressed bytes than this is inflated in place: the thread's
// round trip and copy would cost more than they free the main thread.
const THREAD_MIN_COMPRESSED_BYTES = 64 * 1024;

/**
 * Groups a frame's chunks by message, drops repeats inside the frame and inflates
 * every chunk to check it and learn its size. Only chunk 0's head is kept; the rest
 * of the decompressed bytes are dropped at once, which keeps memory flat. Raw and
 * small compressed chunks are handled in place; only large compressed ones go to
 * zlib's thread pool.
 */
export async function decodeFrame(
	chunks: IncomingChunk[],
	settings: LogStoreSettings,
	inflateThread?: InflateThread,
): Promise<MessageGroup[]> {
	const onThread: Array<{ group: MessageGroup; chunk: IncomingChunk }> | undefined =
		inflateThread !== undefined && compressedBytesOf(chunks) >= THREAD_MIN_COMPRESSED_BYTES ? [] : undefined;
	// Messages of the frame by environment, then run, then message id: each lookup
	// hashes a string the reader already made (and the environment's and run's are
	// mostly the same string objects), where one map by full key would hash a new
	// joined string per chunk.
	const runsByEnvironment = new Map<string, Map<string, RunOfFrame>>();
	const seenInOrder: Seen[] = [];
	const offLoop: Array<{ group: MessageGroup; chunk: IncomingChunk }> = [];
	for (const chunk of chunks) {
		let ofEnvironment = runsByEnvironment.get(chunk.environmentId);
		if (ofEnvironment === undefined) {
			ofEnvironment = new Map();
			runsByEnvironment.set(chunk.environmentId, ofEnvironment);
		}
		let run = ofEnvironment.get(chunk.runId);
		if (run === undefined) {
			// One runKey string per run of the frame: the cursor maps hash it once, not per message.
			run = { runKey: `${chunk.environmentId}\u0000${chunk.runId}`, messages: new Map() };
			ofEnvironment.set(chunk.runId, run);
		}
		let seen = run.messages.get(chunk.messageId);
		if (seen === undefined) {
			const group: MessageGroup = {
				key: `${run.runKey}\u0000${chunk.messageId}`,
				runKey: run.runKey,
				environmentId: chunk.environmentId,
				runId: chunk.runId,
				messageId: chunk.messageId,
				chunks: [],
				header: undefined,
				head: undefined,
				duplicatesInFrame: 0,
				error: undefined,
			};
			seen = { group, first: chunk.sequence, more: undefined };
			run.messages.set(chunk.messageId, seen);
			seenInOrder.push(seen);
		} else if (isRepeat(seen, chunk.sequence)) {
			seen.group.duplicatesInFrame += 1;
			continue;
		}
		const group = seen.group;
		if (onThread !== undefined && isCompressed(chunk.compression)) onThread.push({ group, chunk });
		else if (chunk.data.byteLength >= IN_PLACE_BELOW_BYTES) offLoop.push({ group, chunk });
		else if (group.error === undefined) decodeInto(group, chunk, settings, decodeChunkInPlace);
	}
	if (onThread !== undefined && onThread.length > 0) {
		await inflateOnThread(inflateThread as InflateThread, onThread, settings);
	}
	let next = 0;
	const worker = async () => {
		while (next < offLoop.length) {
			const item = offLoop[next++] as { group: MessageGroup; chunk: IncomingChunk };
			if (item.group.error !== undefined) continue;
			await decodeInto(item.group, item.chunk, settings, decodeChunk);
		}
	};
	if (offLoop.length > 0) await Promise.all(Array.from({ length: DECODE_CONCURRENCY }, worker));
	const out = seenInOrder.map((seen) => seen.group);
	for (const group of out) {
		if (group.chunks.length > 1) group.chunks.sort((a, b) => a.chunk.sequence - b.chunk.sequence);
	}
	return out;
}

function compressedBytesOf(chunks: IncomingChunk[]): number {
	let bytes = 0;
	for (const chunk of chunks) if (isCompressed(chunk.compression)) bytes += chunk.data.byteLength;
	return bytes;
}

/** Inflates a frame's compressed chunks on the thread, then applies each outcome in frame order. */
async function inflateOnThread(
	thread: InflateThread,
	items: Array<{ group: MessageGroup; chunk: IncomingChunk }>,
	settings: LogStoreSettings,
): Promise<void> {
	const outcomes = await thread.inflate(
		items.map(({ chunk }) => ({
			compression: chunk.compression,
			data: chunk.data,
			wantsHead: chunk.sequence === 0,
		})),
		settings.limits.maxChunkBytes,
		settings.inlineBodyBytes,
	);
	items.forEach(({ group, chunk }, i) => {
		const outcome = outcomes[i];
		if (group.error !== undefined || outcome === undefined) return;
		if ("error" in outcome) {
			group.error = rejectionOf(outcome.error, chunk);
			return;
		}
		group.chunks.push({ chunk, rawSize: outcome.rawSize });
		if (outcome.head !== undefined) group.head = outcome.head;
		if (chunk.header !== undefined) group.header = chunk.header;
	});
}

/** A run of the frame: its cursor key and its messages by id. */
interface RunOfFrame {
	runKey: string;
	messages: Map<string, Seen>;
}

/** A message of the frame and the sequences it has had so far (a set only from its second chunk). */
interface Seen {
	group: MessageGroup;
	first: number;
	more: Set<number> | undefined;
}

/** True when the message already had this sequence in the frame; records it otherwise. */
function isRepeat(seen: Seen, sequence: number): boolean {
	if (sequence === seen.first) return true;
	seen.more ??= new Set();
	if (seen.more.has(sequence)) return true;
	seen.more.add(sequence);
	return false;
}

type Decode = (compression: number, data: Uint8Array, maxBytes: number) => Uint8Array | Promise<Uint8Array>;

function decodeInto(
	group: MessageGroup,
	chunk: IncomingChunk,
	settings: LogStoreSettings,
	decode: Decode,
): void | Promise<void> {
	let raw: Uint8Array | Promise<Uint8Array>;
	try {
		raw = decode(chunk.compression, chunk.data, settings.limits.maxChunkBytes);
	} catch (error) {
		group.error = rejectionOf(error, chunk);
		return;
	}
	if (raw instanceof Uint8Array) return keep(group, chunk, raw, settings);
	return raw.then(
		(inflated) => keep(group, chunk, inflated, settings),
		(error: unknown) => {
			group.error = rejectionOf(error, chunk);
		},
	);
}

function keep(group: MessageGroup, chunk: IncomingChunk, raw: Uint8Array, settings: LogStoreSettings): void {
	group.chunks.push({ chunk, rawSize: raw.byteLength });
	if (chunk.sequence === 0) {
		// Raw data is a view of the frame, which lives as long as the group; inflated
		// data longer than the head is copied out so the rest can be freed.
		const inline = settings.inlineBodyBytes;
		group.head =
			raw.byteLength <= inline
				? raw
				: raw === chunk.data
					? raw.subarray(0, inline)
					: Uint8Array.prototype.slice.call(raw, 0, inline);
	}
	if (chunk.header !== undefined) group.header = chunk.header;
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
