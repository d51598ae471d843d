import { ChunkError, isCompressed } from "../../../../packages/log-chunking/src/index.js";
import { type BudgetedChunk, type BudgetState, InflateBudget, messageBudget } from "./inflate-budget.js";
import type { InflateOutcome, InflateThread } from "./inflate-thread.js";
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

// A frame with fewer compressed bytes than this is inflated in place: the thread's
// round trip and copy would cost more than they free the main thread.
const THREAD_MIN_COMPRESSED_BYTES = 64 * 1024;

// ...unless its chunks could inflate to more than this (about 2.5 ms of brotli on
// the event loop): the bound, not the compressed size, is what a frame of tiny
// compressed chunks costs. Small messages declare their body_size, which keeps
// their bound at their real size, so they stay in place.
const IN_PLACE_MAX_INFLATED_BYTES = 1024 * 1024;

/** A chunk of the frame to decode, with its message's group and index. */
interface FrameItem extends BudgetedChunk {
	group: MessageGroup;
	chunk: IncomingChunk;
}

/**
 * Groups a frame's chunks by message, drops repeats inside the frame and inflates
 * every chunk to check it and learn its size. Only chunk 0's head is kept; the rest
 * of the decompressed bytes are dropped at once, which keeps memory flat. Inflation
 * spends a budget (see inflate-budget.ts): the frame's, and each message's declared
 * body_size or the message cap, so a frame of tiny compressed chunks cannot make the
 * service inflate gigabytes. Raw chunks and compressed ones whose inflated size is
 * bounded small are handled in place; the rest go to the inflate thread.
 */
export async function decodeFrame(
	chunks: IncomingChunk[],
	settings: LogStoreSettings,
	inflateThread?: InflateThread,
): Promise<MessageGroup[]> {
	// Messages of the frame by environment, then run, then message id: each lookup
	// hashes a string the reader already made (and the environment's and run's are
	// mostly the same string objects), where one map by full key would hash a new
	// joined string per chunk.
	const runsByEnvironment = new Map<string, Map<string, RunOfFrame>>();
	const seenInOrder: Seen[] = [];
	const items: FrameItem[] = [];
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
			seen = {
				group,
				index: seenInOrder.length,
				first: chunk.sequence,
				more: undefined,
				declared: undefined,
			};
			run.messages.set(chunk.messageId, seen);
			seenInOrder.push(seen);
		} else if (isRepeat(seen, chunk.sequence)) {
			seen.group.duplicatesInFrame += 1;
			continue;
		}
		if (chunk.sequence === 0 && chunk.header !== undefined && chunk.header.chunkCount > 0) {
			// As the writer checks it: body_size counts only when chunk_count is declared too.
			seen.declared = Number(chunk.header.bodySize);
		}
		items.push({
			group: seen.group,
			chunk,
			compression: chunk.compression,
			data: chunk.data,
			wantsHead: chunk.sequence === 0,
			message: seen.index,
		});
	}
	const state: BudgetState = {
		maxChunkBytes: settings.limits.maxChunkBytes,
		frameBytes: settings.maxFrameInflatedBytes,
		frameLeft: settings.maxFrameInflatedBytes,
		messages: seenInOrder.map((seen) => messageBudget(seen.declared, settings.limits.maxMessageBytes)),
	};
	const budget = new InflateBudget(state);
	const compressed: FrameItem[] = [];
	let compressedBytes = 0;
	for (const item of items) {
		if (isCompressed(item.compression)) {
			compressed.push(item);
			compressedBytes += item.data.byteLength;
		} else if (item.group.error === undefined) {
			apply(item, budget.decode(item, settings.inlineBodyBytes), settings);
		}
	}
	if (compressed.length > 0) {
		const onThread =
			inflateThread !== undefined &&
			(compressedBytes >= THREAD_MIN_COMPRESSED_BYTES ||
				InflateBudget.boundOf(state, compressed) > IN_PLACE_MAX_INFLATED_BYTES);
		if (onThread) {
			const sent = compressed.filter((item) => item.group.error === undefined);
			const outcomes = await inflateThread.inflate(sent, state, settings.inlineBodyBytes);
			sent.forEach((item, i) => {
				apply(item, outcomes[i], settings, true);
			});
		} else {
			for (const item of compressed) {
				if (item.group.error === undefined)
					apply(item, budget.decode(item, settings.inlineBodyBytes), settings);
			}
		}
	}
	const out = seenInOrder.map((seen) => seen.group);
	for (const group of out) {
		if (group.chunks.length > 1) group.chunks.sort((a, b) => a.chunk.sequence - b.chunk.sequence);
	}
	return out;
}

/** Records one chunk's outcome on its message: its size and head, or the message's refusal. */
function apply(
	item: FrameItem,
	outcome: InflateOutcome | undefined,
	settings: LogStoreSettings,
	compact = false,
): void {
	const { group, chunk } = item;
	if (group.error !== undefined || outcome === undefined) return;
	if ("error" in outcome) {
		group.error = rejectionOf(outcome.error, chunk);
		return;
	}
	group.chunks.push({ chunk, rawSize: outcome.rawSize });
	const head = outcome.head;
	if (head !== undefined) {
		// Raw data is a view of the frame, which lives as long as the group; inflated
		// data longer than the head is copied out so the rest can be freed (the
		// thread's heads are copies already).
		group.head =
			compact || !isCompressed(chunk.compression) || outcome.rawSize <= settings.inlineBodyBytes
				? head
				: Uint8Array.prototype.slice.call(head);
	}
	if (chunk.header !== undefined) group.header = chunk.header;
}

/** A run of the frame: its cursor key and its messages by id. */
interface RunOfFrame {
	runKey: string;
	messages: Map<string, Seen>;
}

/** A message of the frame and the sequences it has had so far (a set only from its second chunk). */
interface Seen {
	group: MessageGroup;
	/** The message's position in the frame: its budget's index. */
	index: number;
	first: number;
	more: Set<number> | undefined;
	/** body_size declared by chunk 0's header, when it is in the frame. */
	declared: number | undefined;
}

/** True when the message already had this sequence in the frame; records it otherwise. */
function isRepeat(seen: Seen, sequence: number): boolean {
	if (sequence === seen.first) return true;
	seen.more ??= new Set();
	if (seen.more.has(sequence)) return true;
	seen.more.add(sequence);
	return false;
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
