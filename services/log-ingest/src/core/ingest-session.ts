import type pg from "pg";
import type { MessageGroup } from "./frame-decoder.js";
import type { FrameWriter } from "./frame-writer.js";
import { type IncomingChunk, MessageState, type Rejection } from "./types.js";

/** Summary of one Ingest stream. */
export interface IngestSummary {
	messagesAccepted: number;
	bytesAccepted: number;
	duplicatesIgnored: number;
	incomplete: number;
	rejected: Rejection[];
	/** Rejections left out of `rejected` once it reached its cap. */
	rejectedNotListed: number;
}

/** A frame decoded and checked, waiting for its transaction. */
export type PreparedFrame = MessageGroup[];

/** Rejections listed in one summary; a stream of garbage must not grow the answer without bound. */
export const MAX_LISTED_REJECTIONS = 1_000;

/**
 * Follows one Ingest stream: writes each frame as it comes, adds up the summary,
 * and remembers which messages it left waiting for chunks so that it can report
 * those still incomplete when the stream ends (another stream may finish them).
 */
export class IngestSession {
	private readonly writer: FrameWriter;
	private readonly pool: pg.Pool;
	private readonly waiting = new Set<bigint>();
	private readonly reported = new Set<string>();
	private readonly summary: IngestSummary = {
		messagesAccepted: 0,
		bytesAccepted: 0,
		duplicatesIgnored: 0,
		incomplete: 0,
		rejected: [],
		rejectedNotListed: 0,
	};

	constructor(options: { writer: FrameWriter; pool: pg.Pool }) {
		this.writer = options.writer;
		this.pool = options.pool;
	}

	/** Stores one frame of chunks. */
	async accept(chunks: IncomingChunk[]): Promise<void> {
		await this.store(await this.prepare(chunks));
	}

	/**
	 * Decodes a frame ahead of storing it (no database work): a stream prepares its
	 * next frame while the previous one's transaction runs. Frames must still be
	 * stored one at a time, in the order they came.
	 */
	prepare(chunks: IncomingChunk[]): Promise<PreparedFrame> {
		return this.writer.decode(chunks);
	}

	/** Stores a prepared frame and adds what it did to the summary. */
	async store(frame: PreparedFrame): Promise<void> {
		if (frame.length === 0) return;
		const result = await this.writer.store(frame);
		this.summary.messagesAccepted += result.completed;
		this.summary.bytesAccepted += result.bytes;
		this.summary.duplicatesIgnored += result.duplicates;
		for (const id of result.receiving) this.waiting.add(id);
		for (const id of result.settled) this.waiting.delete(id);
		for (const rejection of result.rejected) {
			// One entry per message per stream: a sender resending a refused message's
			// chunks learns why once.
			if (this.reported.has(rejection.messageId)) continue;
			this.reported.add(rejection.messageId);
			if (this.summary.rejected.length < MAX_LISTED_REJECTIONS) this.summary.rejected.push(rejection);
			else this.summary.rejectedNotListed += 1;
		}
	}

	/** The summary, counting messages this stream touched that still wait for chunks. */
	async finish(): Promise<IngestSummary> {
		if (this.waiting.size > 0) {
			const result = await this.pool.query<{ n: string }>(
				"SELECT count(*) AS n FROM log_messages WHERE id = ANY($1::bigint[]) AND state = $2",
				[[...this.waiting].map(String), MessageState.RECEIVING],
			);
			this.summary.incomplete = Number(result.rows[0]?.n ?? 0);
		}
		return this.summary;
	}
}
