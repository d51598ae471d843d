import { ChunkError, decodeChunkInPlace, isCompressed } from "../../../../packages/log-chunking/src/index.js";

/**
 * What one frame may inflate, in all and per message. Each chunk is inflated with
 * zlib's maxOutputLength at the smallest of the chunk cap, what its message may still
 * take and what the frame may still take, so a small compressed chunk stops where the
 * first limit is met instead of inflating whole and being refused after.
 */
export interface BudgetState {
	/** Largest decompressed chunk (LOG_INGEST_MAX_CHUNK_BYTES). */
	maxChunkBytes: number;
	/** Compressed chunks' output one frame may inflate (LOG_INGEST_MAX_FRAME_INFLATED_BYTES). */
	frameBytes: number;
	/** What the frame may still inflate. */
	frameLeft: number;
	/** Per message of the frame, by index. */
	messages: MessageBudget[];
}

/** What one message of the frame may still decode, and which limit that is. */
export interface MessageBudget {
	left: number;
	/** The message's declared body_size (else the message cap, maxMessageBytes). */
	declared: boolean;
	/** The limit's value, for the refusal's text. */
	limit: number;
}

/** A chunk's decoded size and head, or why it (and so its message) was refused. */
export type InflateOutcome = { rawSize: number; head: Uint8Array | undefined } | { error: ChunkError };

/** One chunk to decode, and the message of the frame it belongs to. */
export interface BudgetedChunk {
	compression: number;
	data: Uint8Array;
	/** Keep the first headBytes of its decompressed bytes (chunk 0 of a message). */
	wantsHead: boolean;
	message: number;
}

/** A message's budget: its declared body_size when chunk 0 is in the frame and declares it, else the cap. */
export function messageBudget(declaredSize: number | undefined, maxMessageBytes: number): MessageBudget {
	if (declaredSize !== undefined && declaredSize < maxMessageBytes) {
		return { left: declaredSize, declared: true, limit: declaredSize };
	}
	return { left: maxMessageBytes, declared: false, limit: maxMessageBytes };
}

/**
 * Decodes chunks in frame order, spending the budget as it goes; the same on the
 * main thread and on the inflate thread. A message refused once has its later
 * chunks refused alike without inflating them.
 */
export class InflateBudget {
	readonly state: BudgetState;
	private readonly refused = new Map<number, ChunkError>();

	constructor(state: BudgetState) {
		this.state = state;
	}

	/** The bound of what the chunks could decode to: how much main-thread work they may cost. */
	static boundOf(state: BudgetState, chunks: Array<{ compression: number; message: number }>): number {
		const perMessage = new Map<number, number>();
		for (const chunk of chunks) {
			if (!isCompressed(chunk.compression)) continue;
			perMessage.set(chunk.message, (perMessage.get(chunk.message) ?? 0) + state.maxChunkBytes);
		}
		let bound = 0;
		for (const [message, bytes] of perMessage) {
			bound += Math.min(bytes, state.messages[message]?.left ?? bytes);
		}
		return Math.min(bound, state.frameLeft);
	}

	decode(chunk: BudgetedChunk, headBytes: number): InflateOutcome {
		const earlier = this.refused.get(chunk.message);
		if (earlier !== undefined) return { error: earlier };
		const message = this.state.messages[chunk.message] as MessageBudget;
		const compressed = isCompressed(chunk.compression);
		const frameLeft = compressed ? this.state.frameLeft : Number.POSITIVE_INFINITY;
		const limit = Math.min(this.state.maxChunkBytes, message.left, frameLeft);
		try {
			const raw = decodeChunkInPlace(chunk.compression, chunk.data, limit);
			message.left -= raw.byteLength;
			if (compressed) this.state.frameLeft -= raw.byteLength;
			// A view: the caller copies it out when it must outlive the decompressed bytes.
			return { rawSize: raw.byteLength, head: chunk.wantsHead ? raw.subarray(0, headBytes) : undefined };
		} catch (error) {
			if (!(error instanceof ChunkError)) throw error;
			const why = error.kind === "too-large" ? this.overWhich(limit, message, frameLeft, error) : error;
			this.refused.set(chunk.message, why);
			return { error: why };
		}
	}

	/** The limit a chunk that decoded past `limit` broke. */
	private overWhich(limit: number, message: MessageBudget, frameLeft: number, error: ChunkError): ChunkError {
		if (limit === frameLeft && limit < this.state.maxChunkBytes) {
			return new ChunkError(
				"too-large",
				"data",
				`the frame's compressed chunks inflate past the limit of ${this.state.frameBytes} bytes per frame (LOG_INGEST_MAX_FRAME_INFLATED_BYTES); this message and the frame's later compressed ones are refused`,
			);
		}
		if (limit === message.left && limit < this.state.maxChunkBytes) {
			return message.declared
				? new ChunkError(
						"body-size-mismatch",
						"header.body_size",
						`declares ${message.limit} bytes but the chunks inflate to more; inflating stopped there`,
					)
				: new ChunkError(
						"too-large",
						"data",
						`the message's body inflates past the limit of ${message.limit} bytes per message`,
					);
		}
		return error;
	}
}
