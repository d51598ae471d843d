import { ChunkError } from "./chunk-error.js";
import { DEFAULT_MAX_CHUNK_BYTES, DEFAULT_MAX_CHUNKS, DEFAULT_MAX_MESSAGE_BYTES } from "./limits.js";

/** Caps a receiver enforces on every message. */
export interface ChunkLimits {
	/** Largest joined, decompressed body. */
	maxMessageBytes: number;
	/** Most chunks per message; a sequence at or past it is refused. */
	maxChunks: number;
	/** Largest decompressed chunk. */
	maxChunkBytes: number;
}

/** The default caps (64 MiB, 16,384 chunks, 4 MiB per chunk). */
export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
	maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
	maxChunks: DEFAULT_MAX_CHUNKS,
	maxChunkBytes: DEFAULT_MAX_CHUNK_BYTES,
};

/** The parts of a chunk that decide where it goes. */
export interface ChunkPlace {
	sequence: number;
	last: boolean;
	header?: { chunkCount: number; bodySize: bigint } | undefined;
}

/**
 * Checks that a chunk fits the message as known so far and returns the message's
 * chunk count (0 while unknown). The count is learnt from the header of chunk 0 or
 * from the chunk marked last, whichever comes first; every later chunk must agree,
 * which is what lets chunks arrive in any order.
 */
export function placeChunk(chunk: ChunkPlace, knownCount: number, limits: ChunkLimits): number {
	if (chunk.header !== undefined && chunk.sequence !== 0) {
		throw new ChunkError(
			"misplaced-header",
			"header",
			`is set on sequence ${chunk.sequence}; only sequence 0 carries it`,
		);
	}
	if (chunk.sequence >= limits.maxChunks) {
		throw new ChunkError(
			"sequence-past-cap",
			"sequence",
			`${chunk.sequence} is past the limit of ${limits.maxChunks} chunks per message`,
		);
	}
	let count = knownCount;
	if (chunk.header !== undefined) {
		// As numbers: the cap is a safe integer, so a size past it stays past it when
		// rounded, and no BigInt is made per message.
		if (Number(chunk.header.bodySize) > limits.maxMessageBytes) {
			throw new ChunkError(
				"too-large",
				"header.body_size",
				`${chunk.header.bodySize} bytes is over the limit of ${limits.maxMessageBytes} bytes per message`,
			);
		}
		if (chunk.header.chunkCount > limits.maxChunks) {
			throw new ChunkError(
				"sequence-past-cap",
				"header.chunk_count",
				`${chunk.header.chunkCount} is past the limit of ${limits.maxChunks} chunks per message`,
			);
		}
		count = agree(count, chunk.header.chunkCount, "header.chunk_count");
	}
	if (chunk.last) count = agree(count, chunk.sequence + 1, "last");
	if (count > 0 && chunk.sequence >= count) {
		throw new ChunkError(
			"sequence-out-of-range",
			"sequence",
			`${chunk.sequence} is past the message's last chunk (it has ${count} chunks)`,
		);
	}
	return count;
}

function agree(known: number, implied: number, field: string): number {
	if (implied === 0) return known;
	if (known !== 0 && known !== implied) {
		throw new ChunkError(
			"conflicting-count",
			field,
			`implies ${implied} chunks but an earlier chunk of the message implied ${known}`,
		);
	}
	return implied;
}

/** Throws when the bytes joined so far pass the message cap. */
export function checkMessageSize(totalBytes: number, limits: ChunkLimits): void {
	if (totalBytes > limits.maxMessageBytes) {
		throw new ChunkError(
			"too-large",
			"data",
			`the message's body reached ${totalBytes} bytes, over the limit of ${limits.maxMessageBytes} bytes per message`,
		);
	}
}

/** Throws when a whole body's size differs from the size its header declared. */
export function checkDeclaredSize(totalBytes: number, declared: bigint | undefined): void {
	// totalBytes is a safe integer, so the comparison is exact as numbers.
	if (declared !== undefined && Number(declared) !== totalBytes) {
		throw new ChunkError(
			"body-size-mismatch",
			"header.body_size",
			`declares ${declared} bytes but the chunks join to ${totalBytes} bytes`,
		);
	}
}
