import { create } from "@bufbuild/protobuf";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { type LogChunk, LogChunkSchema, type LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { type CompressionPolicy, DEFAULT_COMPRESSION_POLICY, encodeChunk } from "./codec.js";
import { DEFAULT_CHUNK_BYTES, DEFAULT_MAX_CHUNKS, DEFAULT_MAX_MESSAGE_BYTES } from "./limits.js";

/** One log message as a sender has it, before chunking. */
export interface OutgoingLogMessage {
	messageId: string;
	runId: string;
	environmentId: string;
	/** Level, time, attributes, task/attempt/trace; body_size and chunk_count are filled in. */
	header: OutgoingHeader;
	body: Uint8Array;
}

/** The header fields a sender sets; the chunker adds body_size and chunk_count. */
export interface OutgoingHeader {
	level: LogLevel;
	time?: Timestamp;
	attributes?: Record<string, string>;
	taskId?: string;
	attemptId?: string;
	traceId?: string;
}

/** How a message is cut and compressed. */
export interface ChunkingOptions {
	/** Raw bytes per chunk; 64 KiB by default. */
	chunkBytes?: number;
	compression?: CompressionPolicy;
	/** Refuse bodies over this size before sending anything (the service refuses them too). */
	maxMessageBytes?: number;
}

/** Number of chunks a body of this size is cut into (an empty body still has one). */
export function chunkCountOf(bodySize: number, chunkBytes = DEFAULT_CHUNK_BYTES): number {
	return Math.max(1, Math.ceil(bodySize / chunkBytes));
}

/**
 * Cuts a message into numbered chunks, compressing each where that pays. Chunks
 * are produced lazily, so a sender streams a large body without holding every
 * compressed chunk at once. Chunk 0 carries the header with body_size and
 * chunk_count, which lets the receiver check that the body it joins is whole.
 */
export function* chunkLogMessage(
	message: OutgoingLogMessage,
	options: ChunkingOptions = {},
): Generator<LogChunk> {
	const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
	if (!Number.isInteger(chunkBytes) || chunkBytes < 1) {
		throw new RangeError(`chunkBytes: ${chunkBytes} is not a positive whole number`);
	}
	const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
	if (message.body.byteLength > maxMessageBytes) {
		throw new RangeError(
			`body: ${message.body.byteLength} bytes is over the limit of ${maxMessageBytes} bytes per message`,
		);
	}
	const count = chunkCountOf(message.body.byteLength, chunkBytes);
	if (count > DEFAULT_MAX_CHUNKS) {
		throw new RangeError(
			`body: ${count} chunks is over the limit of ${DEFAULT_MAX_CHUNKS} chunks per message`,
		);
	}
	const policy = options.compression ?? DEFAULT_COMPRESSION_POLICY;
	for (let sequence = 0; sequence < count; sequence++) {
		const raw = message.body.subarray(sequence * chunkBytes, (sequence + 1) * chunkBytes);
		const encoded = encodeChunk(raw, policy);
		yield create(LogChunkSchema, {
			messageId: message.messageId,
			runId: message.runId,
			environmentId: message.environmentId,
			sequence,
			last: sequence === count - 1,
			compression: encoded.compression,
			data: encoded.data,
			header:
				sequence === 0
					? { ...message.header, bodySize: BigInt(message.body.byteLength), chunkCount: count }
					: undefined,
		});
	}
}
