import type pg from "pg";
import type { Logger } from "pino";
import {
	checkDeclaredSize,
	checkMessageSize,
	decodeChunk,
	placeChunk,
} from "../../../../packages/log-chunking/src/index.js";
import { CopyBufferPool } from "../../../kit/src/index.js";
import {
	type ChunkRow,
	deleteChunks,
	insertChunks,
	lastStoredSequences,
	readChunkAt,
} from "./chunk-queries.js";
import { checkStoredChunksFit, missingChunk, requireHeaderOnChunkZero } from "./chunk-rules.js";
import { decodeFrame, type MessageGroup, rejectionOf } from "./frame-decoder.js";
import { checkHeader, searchTextOf } from "./header-rules.js";
import type { InflateThread } from "./inflate-thread.js";
import {
	insertWholeMessages,
	lockMessages,
	type MessageUpdate,
	type ReceivingRow,
	updateMessages,
	type WholeMessageRow,
} from "./message-queries.js";
import { claimRunCursors, notifyRuns } from "./run-queries.js";
import {
	type IncomingChunk,
	type LogStoreSettings,
	MessageState,
	type Queryable,
	type Rejection,
} from "./types.js";
import { isWholeOnArrival, storedHeader, wholeRow } from "./whole-message.js";

/** What one frame did. */
export interface FrameResult {
	/** Messages that became whole. */
	completed: number;
	/** Decompressed body bytes newly stored. */
	bytes: number;
	/** Chunks ignored because they were already stored (or repeated in the frame). */
	duplicates: number;
	rejected: Rejection[];
	/** Messages still waiting for chunks after this frame, by row id. */
	receiving: bigint[];
	/** Messages this frame finished (complete or rejected), by row id. */
	settled: bigint[];
}

/** A wall clock in milliseconds; tests pass their own. */
export interface Clock {
	now(): number;
}

const DEADLOCK = "40P01";
const ATTEMPTS = 4;

/**
 * Persists one Ingest frame in one transaction: runs are locked first (their
 * cursors), small whole messages go in as single rows, and every other chunk is
 * stored as it comes against its locked message row, which then learns whether it
 * is whole. Nothing of a large body is held beyond one frame.
 */
export class FrameWriter {
	private readonly pool: pg.Pool;
	private readonly settings: LogStoreSettings;
	private readonly clock: Clock;
	private readonly logger: Logger;
	private readonly copyBuffers = new CopyBufferPool();
	private readonly inflateThread: InflateThread | undefined;

	constructor(options: {
		pool: pg.Pool;
		settings: LogStoreSettings;
		clock: Clock;
		logger: Logger;
		/** Where large frames' compressed chunks are inflated; in place without one. */
		inflateThread?: InflateThread;
	}) {
		this.pool = options.pool;
		this.inflateThread = options.inflateThread;
		this.settings = options.settings;
		this.clock = options.clock;
		this.logger = options.logger;
	}

	/** Decodes, checks and stores a frame's chunks; per-message problems come back as rejections. */
	async write(chunks: IncomingChunk[]): Promise<FrameResult> {
		return this.store(await this.decode(chunks));
	}

	/**
	 * The CPU half of write(): groups the chunks by message, inflates and checks them,
	 * with no database work, so a stream can do it for its next frame while this
	 * one's transaction runs.
	 */
	async decode(chunks: IncomingChunk[]): Promise<MessageGroup[]> {
		return decodeFrame(chunks, this.settings, this.inflateThread);
	}

	/** The database half of write(): one transaction over the decoded frame (groups are not changed). */
	async store(groups: MessageGroup[]): Promise<FrameResult> {
		for (let attempt = 1; ; attempt++) {
			const client = await this.pool.connect();
			try {
				await client.query("BEGIN");
				const result = await this.apply(client, groups);
				await client.query("COMMIT");
				return result;
			} catch (error) {
				await client.query("ROLLBACK").catch(() => {});
				// Frames that share messages can still lock them in crossing orders across
				// the two paths; the whole frame is atomic, so running it again is safe.
				if ((error as { code?: string }).code === DEADLOCK && attempt < ATTEMPTS) {
					this.logger.debug({ attempt }, "ingest frame deadlocked; retrying");
					continue;
				}
				throw error;
			} finally {
				client.release();
			}
		}
	}

	private async apply(client: pg.PoolClient, groups: MessageGroup[]): Promise<FrameResult> {
		const now = this.clock.now();
		const result: FrameResult = {
			completed: 0,
			bytes: 0,
			duplicates: 0,
			rejected: [],
			receiving: [],
			settled: [],
		};
		for (const group of groups) result.duplicates += group.duplicatesInFrame;

		const cursors = await this.claimCursors(client, groups);
		const touchedRuns = new Set<string>();
		const take = (runKey: string) => {
			touchedRuns.add(runKey);
			const value = (cursors.get(runKey) ?? 0n) + 1n;
			cursors.set(runKey, value);
			return value;
		};
		// At most one value per message: a message the fast path could not insert
		// keeps the value it was given, so a run never hands out more than it claimed.
		const given = new Map<string, bigint>();
		const nextCursor = (group: MessageGroup) => {
			const already = given.get(group.key);
			if (already !== undefined) return already;
			const value = take(group.runKey);
			given.set(group.key, value);
			return value;
		};

		const wholeRows: WholeMessageRow[] = [];
		let general: MessageGroup[] = [];
		for (const group of groups) {
			// Each of these messages is in the frame once, so it takes its value directly.
			if (isWholeOnArrival(group, this.settings)) wholeRows.push(wholeRow(group, take(group.runKey), now));
			else general.push(group);
		}
		const skipped = await insertWholeMessages(client, wholeRows, this.copyBuffers);
		for (const row of wholeRows) {
			if (skipped.has(row.key)) {
				given.set(row.key, row.runSeq);
				continue;
			}
			result.completed += 1;
			result.bytes += row.bodySize;
		}
		if (skipped.size > 0) {
			// Rows already stored (a retry) go the general way, which judges them.
			general = groups.filter((g) => skipped.has(g.key) || !isWholeOnArrival(g, this.settings));
		}
		if (general.length > 0) {
			// Key order is what keeps concurrent frames from locking the same message rows
			// in crossing orders. Messages whole on arrival keep the frame's order (and take
			// their cursors in it, so a Tail shows a frame's lines as they were sent).
			general.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
			await this.applyGeneral(client, general, now, nextCursor, result);
		}

		await notifyRuns(
			client,
			this.settings.channel,
			[...touchedRuns].map((runKey) => {
				const [environmentId, runId] = runKey.split("\u0000");
				return JSON.stringify([environmentId, runId, String(cursors.get(runKey))]);
			}),
		);
		return result;
	}

	/** Claims, per run, one cursor value per message of the frame; unused ones leave harmless gaps. */
	private async claimCursors(client: Queryable, groups: MessageGroup[]): Promise<Map<string, bigint>> {
		const counts = new Map<string, { environmentId: string; runId: string; count: number }>();
		for (const g of groups) {
			const claim = counts.get(g.runKey);
			if (claim !== undefined) claim.count += 1;
			else counts.set(g.runKey, { environmentId: g.environmentId, runId: g.runId, count: 1 });
		}
		const claims = [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, c]) => c);
		const last = await claimRunCursors(client, claims);
		// Hand out from the first claimed value: last - count is the value before it.
		for (const claim of claims) {
			const runKey = `${claim.environmentId}\u0000${claim.runId}`;
			last.set(runKey, (last.get(runKey) ?? 0n) - BigInt(claim.count));
		}
		return last;
	}

	private async applyGeneral(
		client: pg.PoolClient,
		groups: MessageGroup[],
		now: number,
		nextCursor: (group: MessageGroup) => bigint,
		result: FrameResult,
	): Promise<void> {
		const rows = await lockMessages(client, groups, now);
		const plans: Array<{ group: MessageGroup; row: ReceivingRow; count: number }> = [];
		const rejectedPks: bigint[] = [];
		const updates: MessageUpdate[] = [];
		const reject = (row: ReceivingRow, rejection: Rejection) => {
			result.rejected.push(rejection);
			result.settled.push(row.id);
			rejectedPks.push(row.id);
			updates.push({
				...unchanged(row),
				state: MessageState.REJECTED,
				rejectReason: rejection.message,
			});
		};
		const chunkRows: ChunkRow[] = [];
		// Messages that stored chunks while their count was unknown: if this frame teaches
		// the count, those chunks must fit it too (asked only for such messages; senders
		// that put chunk_count in chunk 0's header, as the chunker does, never cost this).
		const countUnknown: bigint[] = [];
		for (const row of rows.values()) {
			if (row.state === MessageState.RECEIVING && row.chunkCount === 0 && row.receivedChunks > 0) {
				countUnknown.push(row.id);
			}
		}
		const lastStored = await lastStoredSequences(client, countUnknown);
		for (const group of groups) {
			const row = rows.get(group.key) as ReceivingRow;
			const first = group.chunks[0]?.chunk ?? { index: 0, messageId: group.messageId };
			if (row.state === MessageState.COMPLETE) {
				result.duplicates += group.chunks.length;
				continue;
			}
			if (row.state === MessageState.INCOMPLETE || row.state === MessageState.REJECTED) {
				const was = row.state === MessageState.INCOMPLETE ? "marked incomplete" : "rejected";
				result.rejected.push({
					index: first.index,
					messageId: group.messageId,
					kind: "closed",
					message: `message_id: "${group.messageId}" was already ${was}; its late chunks are not accepted`,
				});
				continue;
			}
			if (group.error !== undefined) {
				reject(row, group.error);
				continue;
			}
			try {
				let count = row.chunkCount;
				for (const { chunk } of group.chunks) {
					requireHeaderOnChunkZero(chunk);
					count = placeChunk(chunk, count, this.settings.limits);
				}
				checkStoredChunksFit(lastStored.get(row.id), count);
				if (group.header !== undefined) checkHeader(group.header);
				plans.push({ group, row, count });
				for (const { chunk, rawSize } of group.chunks) {
					chunkRows.push({
						messagePk: row.id,
						sequence: chunk.sequence,
						compression: chunk.compression,
						rawSize,
						data: Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength),
					});
				}
			} catch (error) {
				reject(row, rejectionOf(error, first));
			}
		}

		const stored = await insertChunks(client, chunkRows, this.copyBuffers);
		for (const { group, row, count } of plans) {
			const fresh = group.chunks.filter(({ chunk }) => stored.has(`${row.id}:${chunk.sequence}`));
			result.duplicates += group.chunks.length - fresh.length;
			const bytes = fresh.reduce((sum, c) => sum + c.rawSize, 0);
			const header = fresh.find((c) => c.chunk.header !== undefined)?.chunk.header;
			const update: MessageUpdate = {
				...unchanged(row),
				chunkCount: count,
				receivedChunks: row.receivedChunks + fresh.length,
				receivedBytes: row.receivedBytes + bytes,
				header:
					header === undefined
						? null
						: {
								...storedHeader(header, now),
								declaredSize: header.chunkCount > 0 ? header.bodySize : null,
							},
			};
			const first = group.chunks[0]?.chunk ?? { index: 0, messageId: group.messageId };
			try {
				checkMessageSize(update.receivedBytes, this.settings.limits);
				const hasHeader = row.hasHeader || header !== undefined;
				if (count > 0 && update.receivedChunks === count && hasHeader) {
					const declared = header !== undefined ? update.header?.declaredSize : row.declaredSize;
					checkDeclaredSize(update.receivedBytes, declared ?? undefined);
					const head = await this.headOf(client, group, row.id, count);
					update.state = MessageState.COMPLETE;
					update.runSeq = nextCursor(group);
					update.bodyHead = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
					update.searchText = searchTextOf(head);
					result.completed += 1;
					result.settled.push(row.id);
				} else {
					result.receiving.push(row.id);
				}
				result.bytes += bytes;
				updates.push(update);
			} catch (error) {
				result.receiving = result.receiving.filter((id) => id !== row.id);
				reject(row, rejectionOf(error, first));
			}
		}
		await deleteChunks(client, rejectedPks);
		await updateMessages(client, updates);
	}

	/** The first inlineBodyBytes of a whole body: from the frame when chunk 0 covers it, else from storage. */
	private async headOf(
		client: pg.PoolClient,
		group: MessageGroup,
		pk: bigint,
		count: number,
	): Promise<Uint8Array> {
		const limit = this.settings.inlineBodyBytes;
		if (group.head !== undefined && (group.head.byteLength >= limit || count === 1)) return group.head;
		const parts: Uint8Array[] = [];
		let size = 0;
		for (let sequence = 0; sequence < count && size < limit; sequence++) {
			const [stored] = await readChunkAt(client, pk, sequence, 1);
			// The read returns the next stored chunk at or after the sequence: a gap would
			// otherwise join a later chunk in its place.
			if (stored?.sequence !== sequence) throw missingChunk(sequence, count, stored?.sequence);
			const raw = await decodeChunk(stored.compression, stored.data, this.settings.limits.maxChunkBytes);
			parts.push(raw.subarray(0, limit - size));
			size += Math.min(raw.byteLength, limit - size);
		}
		return Buffer.concat(parts);
	}
}

function unchanged(row: ReceivingRow): MessageUpdate {
	return {
		id: row.id,
		state: row.state,
		runSeq: null,
		header: null,
		chunkCount: row.chunkCount,
		receivedChunks: row.receivedChunks,
		receivedBytes: row.receivedBytes,
		bodyHead: null,
		searchText: null,
		rejectReason: null,
	};
}
