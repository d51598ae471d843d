import type pg from "pg";
import type { ChunkLimits, PlainLogChunk } from "../../../../packages/log-chunking/src/index.js";

/** Fields of a message other than its body, as chunk 0 carries them. */
export interface IncomingHeader {
	level: number;
	/** Microseconds since the epoch; undefined when the sender left the time out. */
	loggedAtUs: bigint | undefined;
	attributes: Record<string, string>;
	bodySize: bigint;
	chunkCount: number;
	taskId: string;
	attemptId: string;
	traceId: string;
}

/**
 * One chunk as the core receives it (no protobuf types): the chunking package's
 * plain LogChunk (its compression as sent; unknown values are refused per message)
 * with the header's time in microseconds.
 */
export interface IncomingChunk extends Omit<PlainLogChunk, "header"> {
	header: IncomingHeader | undefined;
	/** Position of the chunk in its stream, reported back with a rejection. */
	index: number;
}

/** Caps and sizes the store applies. */
export interface LogStoreSettings {
	limits: ChunkLimits;
	/** Decompressed bytes one Ingest frame's compressed chunks may inflate to. */
	maxFrameInflatedBytes: number;
	/** How much of each body is kept inline for Query, Tail and text search. */
	inlineBodyBytes: number;
	/** LISTEN/NOTIFY channel that wakes Tail streams. */
	channel: string;
}

/** Stored states of a message. */
export const MessageState = { RECEIVING: 0, COMPLETE: 1, INCOMPLETE: 2, REJECTED: 3 } as const;

/** Why a message (or a late chunk of it) was not accepted. */
export interface Rejection {
	index: number;
	messageId: string;
	/** "invalid" → INVALID_ARGUMENT, "too-large" → RESOURCE_EXHAUSTED, "closed" → FAILED_PRECONDITION. */
	kind: "invalid" | "too-large" | "closed";
	message: string;
}

/** A visible message as Query and Tail read it. */
export interface StoredLogRecord {
	messageId: string;
	runId: string;
	level: number;
	loggedAtUs: bigint;
	attributes: Record<string, string>;
	body: Uint8Array;
	bodySize: bigint;
	bodyTruncated: boolean;
	incomplete: boolean;
	cursor: bigint;
	taskId: string;
	attemptId: string;
	traceId: string;
}

/** The key of a message: environment, run and message id. */
export function messageKey(chunk: { environmentId: string; runId: string; messageId: string }): string {
	return `${chunk.environmentId}\u0000${chunk.runId}\u0000${chunk.messageId}`;
}

/** A pg client or pool: every query takes the client it runs on. */
export type Queryable = Pick<pg.PoolClient, "query">;
