import type { ChunkErrorKind } from "../../../../packages/log-chunking/src/index.js";
import type { BudgetState } from "./inflate-budget.js";

/** Int32 entries per chunk of an InflateRequest. */
export const ENTRY_INTS = 5;

/** A frame's compressed chunks, packed into one transferred buffer. */
export interface InflateRequest {
	id: number;
	buffer: ArrayBuffer;
	/** Per chunk: offset in buffer, length, compression, 1 when its head is wanted, its message's index. */
	entries: Int32Array;
	/** What the frame and each of its messages may still inflate. */
	budget: BudgetState;
	headBytes: number;
}

/** Why the thread refused one chunk: a ChunkError taken apart to cross threads. */
export interface InflateRefusal {
	kind: ChunkErrorKind;
	field: string;
	/** Without the "field: " prefix ChunkError adds. */
	message: string;
}

/** The answer to one InflateRequest, in its chunks' order. */
export interface InflateReply {
	id: number;
	rawSizes: Int32Array;
	heads: Array<Uint8Array | null>;
	errors: Array<InflateRefusal | null>;
}
