import { ChunkError } from "../../../../packages/log-chunking/src/index.js";

/**
 * Rules the service adds to the shared placeChunk, for what only a store that keeps
 * chunks across frames and streams can get wrong.
 */

/**
 * Chunk 0 must carry the header. Without it the message could never be whole: the
 * chunk is stored, and the same chunk sent again with its header is a duplicate.
 */
export function requireHeaderOnChunkZero(chunk: { sequence: number; header: unknown }): void {
	if (chunk.sequence === 0 && chunk.header === undefined) {
		throw new ChunkError(
			"missing-field",
			"header",
			"is required on sequence 0 (chunk 0 carries the message's header, body_size and chunk_count)",
		);
	}
}

/**
 * Throws when a chunk stored before the message's count was known lies past that
 * count. placeChunk only sees the chunks of the frame; without this, such a chunk
 * counted toward the message's chunks and made it whole with one missing.
 */
export function checkStoredChunksFit(lastStoredSequence: number | undefined, count: number): void {
	if (lastStoredSequence === undefined || count === 0 || lastStoredSequence < count) return;
	throw new ChunkError(
		"sequence-out-of-range",
		"sequence",
		`${lastStoredSequence} (stored before the count was known) is past the message's last chunk (it has ${count} chunks)`,
	);
}

/** A stored chunk the reader expected and did not find: its message cannot be joined. */
export function missingChunk(sequence: number, count: number, found: number | undefined): ChunkError {
	return new ChunkError(
		"sequence-out-of-range",
		"sequence",
		`chunk ${sequence} of ${count} is missing (next stored is ${found === undefined ? "none" : found})`,
	);
}
