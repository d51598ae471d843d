import type { Compression, LogChunk, LogMessageHeader } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { ChunkError } from "./chunk-error.js";
import { decodeChunk } from "./codec.js";
import {
	type ChunkLimits,
	checkDeclaredSize,
	checkMessageSize,
	DEFAULT_CHUNK_LIMITS,
	placeChunk,
} from "./placement.js";

/** A message whose every chunk has arrived, joined back byte-exact. */
export interface ReassembledMessage {
	messageId: string;
	runId: string;
	environmentId: string;
	header: LogMessageHeader | undefined;
	body: Uint8Array;
}

/** What adding one chunk did. */
export type AddOutcome =
	| { status: "added" }
	| { status: "duplicate" }
	| { status: "complete"; message: ReassembledMessage };

interface Pending {
	count: number;
	bytes: number;
	header: LogMessageHeader | undefined;
	parts: Map<number, Uint8Array>;
}

/**
 * Joins chunks back into messages in memory: duplicates (same message and
 * sequence) are ignored, chunks may come in any order, and a message is handed
 * out only once it is whole and its size matches its header. Memory is bounded
 * by the per-message cap times the messages in flight, so it suits senders,
 * tests and small bodies; a service that must stay flat persists chunks instead
 * and reads them back with decodeInOrder.
 */
export class Reassembler {
	private readonly limits: ChunkLimits;
	private readonly pending = new Map<string, Pending>();
	private readonly done = new Set<string>();

	constructor(options: { limits?: ChunkLimits } = {}) {
		this.limits = options.limits ?? DEFAULT_CHUNK_LIMITS;
	}

	/** Adds one chunk; throws ChunkError when it cannot belong to a valid message. */
	async add(chunk: LogChunk): Promise<AddOutcome> {
		if (chunk.messageId === "") throw new ChunkError("missing-field", "message_id", "is required");
		if (chunk.runId === "") throw new ChunkError("missing-field", "run_id", "is required");
		const key = `${chunk.environmentId}\u0000${chunk.runId}\u0000${chunk.messageId}`;
		if (this.done.has(key)) return { status: "duplicate" };
		const entry = this.pending.get(key) ?? { count: 0, bytes: 0, header: undefined, parts: new Map() };
		if (entry.parts.has(chunk.sequence)) return { status: "duplicate" };
		const count = placeChunk(chunk, entry.count, this.limits);
		const data = await decodeChunk(chunk.compression, chunk.data, this.limits.maxChunkBytes);
		checkMessageSize(entry.bytes + data.byteLength, this.limits);
		entry.count = count;
		entry.bytes += data.byteLength;
		entry.parts.set(chunk.sequence, data);
		if (chunk.header !== undefined) entry.header = chunk.header;
		this.pending.set(key, entry);
		if (entry.count === 0 || entry.parts.size < entry.count || entry.header === undefined) {
			return { status: "added" };
		}
		checkDeclaredSize(entry.bytes, entry.header.chunkCount > 0 ? entry.header.bodySize : undefined);
		this.pending.delete(key);
		this.done.add(key);
		const body = new Uint8Array(entry.bytes);
		let offset = 0;
		for (let sequence = 0; sequence < entry.count; sequence++) {
			const part = entry.parts.get(sequence) as Uint8Array;
			body.set(part, offset);
			offset += part.byteLength;
		}
		return {
			status: "complete",
			message: {
				messageId: chunk.messageId,
				runId: chunk.runId,
				environmentId: chunk.environmentId,
				header: entry.header,
				body,
			},
		};
	}

	/** Messages still missing chunks, with the sequences missing where the count is known. */
	incomplete(): Array<{ messageId: string; runId: string; missing: number[] | undefined }> {
		return [...this.pending.entries()].map(([key, entry]) => {
			const [, runId = "", messageId = ""] = key.split("\u0000");
			const missing =
				entry.count === 0
					? undefined
					: Array.from({ length: entry.count }, (_, i) => i).filter((i) => !entry.parts.has(i));
			return { messageId, runId, missing };
		});
	}
}

/** A stored chunk as read back in sequence order. */
export interface StoredChunk {
	sequence: number;
	compression: Compression;
	data: Uint8Array;
}

/**
 * Decodes stored chunks of one message read in sequence order, one at a time,
 * checking that none is missing and that the joined size stays within the cap.
 * Memory holds one chunk, however large the body.
 */
export async function* decodeInOrder(
	chunks: AsyncIterable<StoredChunk>,
	options: { chunkCount: number; limits?: ChunkLimits },
): AsyncGenerator<Uint8Array> {
	const limits = options.limits ?? DEFAULT_CHUNK_LIMITS;
	let next = 0;
	let total = 0;
	for await (const chunk of chunks) {
		if (chunk.sequence !== next) {
			throw new ChunkError(
				"sequence-out-of-range",
				"sequence",
				`chunk ${next} is missing (next stored is ${chunk.sequence})`,
			);
		}
		const data = await decodeChunk(chunk.compression, chunk.data, limits.maxChunkBytes);
		total += data.byteLength;
		checkMessageSize(total, limits);
		next += 1;
		yield data;
	}
	if (next !== options.chunkCount) {
		throw new ChunkError(
			"sequence-out-of-range",
			"sequence",
			`chunk ${next} of ${options.chunkCount} is missing`,
		);
	}
}
