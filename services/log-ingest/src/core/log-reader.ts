import type pg from "pg";
import { ChunkError, decodeInOrder, type StoredChunk } from "../../../../packages/log-chunking/src/index.js";
import { readChunkAt } from "./chunk-queries.js";
import { type LogStoreSettings, MessageState, type StoredLogRecord } from "./types.js";

/** Filters of a Query. */
export interface LogQuery {
	environmentId: string;
	runId: string | undefined;
	levels: number[];
	fromUs: bigint | undefined;
	toUs: bigint | undefined;
	text: string | undefined;
	pageSize: number;
	/** Position after which the page starts: (logged_at_us, row id). */
	after: { loggedAtUs: bigint; id: bigint } | undefined;
	maxBodyBytes: number;
}

/** One page of Query. */
export interface LogPage {
	records: StoredLogRecord[];
	/** Where the next page starts; undefined on the last page. */
	next: { loggedAtUs: bigint; id: bigint } | undefined;
}

interface RecordRow {
	id: string;
	message_id: string;
	run_id: string;
	state: number;
	level: number;
	logged_at_us: string;
	attributes: Record<string, string>;
	task_id: string;
	attempt_id: string;
	trace_id: string;
	run_seq: string;
	declared_size: string | null;
	received_bytes: string;
	body: Buffer | null;
}

const RECORD_COLUMNS = `id, message_id, run_id, state, level, logged_at_us, attributes, task_id, attempt_id,
	trace_id, run_seq, declared_size, received_bytes, substring(body_head FROM 1 FOR $2) AS body`;

/** Body bytes one Query page may carry; the gRPC send limit is 16 MiB by default. */
const PAGE_BODY_BUDGET = 8 * 1024 * 1024;

/** A chunk source yielding a message's stored chunks in order, a few at a time. */
const CHUNKS_PER_READ = 4;

/**
 * Reads visible messages (complete or incomplete) for Query and Tail, and whole
 * bodies for ReadMessageBody. An incomplete message is returned without a body and
 * flagged, never as if it were whole.
 */
export class LogReader {
	private readonly pool: pg.Pool;
	private readonly settings: LogStoreSettings;

	constructor(options: { pool: pg.Pool; settings: LogStoreSettings }) {
		this.pool = options.pool;
		this.settings = options.settings;
	}

	/** Messages matching the filters, oldest first, one page. */
	async query(query: LogQuery): Promise<LogPage> {
		const params: unknown[] = [query.environmentId, query.maxBodyBytes];
		const where = ["environment_id = $1", "run_seq IS NOT NULL"];
		const add = (sql: (p: string) => string, value: unknown) => {
			params.push(value);
			where.push(sql(`$${params.length}`));
		};
		if (query.runId !== undefined) add((p) => `run_id = ${p}`, query.runId);
		if (query.levels.length > 0) add((p) => `level = ANY(${p}::smallint[])`, query.levels);
		if (query.fromUs !== undefined) add((p) => `logged_at_us >= ${p}::bigint`, query.fromUs.toString());
		if (query.toUs !== undefined) add((p) => `logged_at_us < ${p}::bigint`, query.toUs.toString());
		if (query.text !== undefined)
			add(
				(p) => `coalesce(search_text, convert_from(body_head, 'UTF8')) ILIKE ${p} ESCAPE '\\'`,
				`%${escapeLike(query.text)}%`,
			);
		if (query.after !== undefined) {
			params.push(query.after.loggedAtUs.toString(), query.after.id.toString());
			where.push(`(logged_at_us, id) > ($${params.length - 1}::bigint, $${params.length}::bigint)`);
		}
		params.push(query.pageSize + 1);
		const result = await this.pool.query<RecordRow>(
			`SELECT ${RECORD_COLUMNS} FROM log_messages WHERE ${where.join(" AND ")}
			 ORDER BY logged_at_us, id LIMIT $${params.length}`,
			params,
		);
		// A page stops early when its bodies would pass the response budget, so 1,000
		// records of 64 KiB never meet the transport's message size limit.
		const rows: RecordRow[] = [];
		let bytes = 0;
		for (const row of result.rows.slice(0, query.pageSize)) {
			bytes += row.body?.byteLength ?? 0;
			if (rows.length > 0 && bytes > PAGE_BODY_BUDGET) break;
			rows.push(row);
		}
		const last = rows.at(-1);
		return {
			records: rows.map((row) => this.toRecord(row, query.maxBodyBytes)),
			next:
				result.rows.length > rows.length && last !== undefined
					? { loggedAtUs: BigInt(last.logged_at_us), id: BigInt(last.id) }
					: undefined,
		};
	}

	/** True when the run ever sent a chunk. */
	async runExists(environmentId: string, runId: string): Promise<boolean> {
		const result = await this.pool.query("SELECT 1 FROM log_runs WHERE environment_id = $1 AND run_id = $2", [
			environmentId,
			runId,
		]);
		return result.rowCount === 1;
	}

	/** A run's visible messages after a cursor, in cursor order. */
	async readAfter(
		target: { environmentId: string; runId: string; levels: number[]; maxBodyBytes: number },
		cursor: bigint,
		limit: number,
	): Promise<StoredLogRecord[]> {
		const result = await this.pool.query<RecordRow>(
			`SELECT ${RECORD_COLUMNS} FROM log_messages
			 WHERE environment_id = $1 AND run_id = $3 AND run_seq > $4::bigint AND run_seq IS NOT NULL
			   AND (cardinality($5::smallint[]) = 0 OR level = ANY($5::smallint[]))
			 ORDER BY run_seq LIMIT $6`,
			[target.environmentId, target.maxBodyBytes, target.runId, cursor.toString(), target.levels, limit],
		);
		return result.rows.map((row) => this.toRecord(row, target.maxBodyBytes));
	}

	/**
	 * A whole body as a stream of pieces of at most pieceBytes, reading a few chunks
	 * at a time so memory stays flat however large the body.
	 */
	async *readBody(
		key: { environmentId: string; runId: string; messageId: string },
		pieceBytes: number,
	): AsyncGenerator<{ data: Uint8Array; offset: number }> {
		const found = await this.pool.query<{
			id: string;
			state: number;
			body_inline: boolean;
			chunk_count: number;
			received_chunks: number;
			body_head: Buffer | null;
		}>(
			`SELECT id, state, body_inline, chunk_count, received_chunks, body_head FROM log_messages
			 WHERE environment_id = $1 AND run_id = $2 AND message_id = $3`,
			[key.environmentId, key.runId, key.messageId],
		);
		const row = found.rows[0];
		if (row === undefined || row.state === MessageState.REJECTED) throw new MessageNotFound(key.messageId);
		if (row.state !== MessageState.COMPLETE) {
			throw new MessageNotWhole(key.messageId, row.state === MessageState.INCOMPLETE, row);
		}
		let offset = 0;
		const pieces = function* (data: Uint8Array) {
			for (let at = 0; at < data.byteLength; at += pieceBytes) {
				const piece = data.subarray(at, at + pieceBytes);
				yield { data: piece, offset };
				offset += piece.byteLength;
			}
		};
		if (row.body_inline) {
			yield* pieces(row.body_head ?? new Uint8Array());
			return;
		}
		const pool = this.pool;
		const pk = BigInt(row.id);
		async function* stored(): AsyncGenerator<StoredChunk> {
			for (let next = 0; next < row.chunk_count; ) {
				// A client per read, not per body: a slow reader must not hold one.
				const client = await pool.connect();
				let batch: StoredChunk[];
				try {
					batch = await readChunkAt(client, pk, next, CHUNKS_PER_READ);
				} finally {
					client.release();
				}
				if (batch.length === 0) return;
				for (const chunk of batch) yield chunk;
				next = (batch.at(-1)?.sequence ?? next) + 1;
			}
		}
		try {
			for await (const data of decodeInOrder(stored(), {
				chunkCount: row.chunk_count,
				limits: this.settings.limits,
			})) {
				yield* pieces(data);
			}
		} catch (error) {
			// Stored chunks that do not join (a gap, a chunk past the count, bytes that no
			// longer inflate) are a fact about the stored message, not a server fault.
			if (error instanceof ChunkError) throw new MessageNotReadable(key.messageId, error.message);
			throw error;
		}
	}

	private toRecord(row: RecordRow, maxBodyBytes: number): StoredLogRecord {
		const incomplete = row.state === MessageState.INCOMPLETE;
		const bodySize = incomplete
			? BigInt(row.declared_size ?? row.received_bytes)
			: BigInt(row.received_bytes);
		const body = incomplete ? new Uint8Array() : (row.body ?? new Uint8Array()).subarray(0, maxBodyBytes);
		return {
			messageId: row.message_id,
			runId: row.run_id,
			level: row.level,
			loggedAtUs: BigInt(row.logged_at_us),
			attributes: row.attributes,
			body,
			bodySize,
			bodyTruncated: BigInt(body.byteLength) < bodySize,
			incomplete,
			cursor: BigInt(row.run_seq),
			taskId: row.task_id,
			attemptId: row.attempt_id,
			traceId: row.trace_id,
		};
	}
}

/** The message does not exist (or was rejected and so never stored). */
export class MessageNotFound extends Error {
	constructor(readonly messageId: string) {
		super(`message "${messageId}" was not found`);
	}
}

/** The message exists but its body is not whole: still arriving, or incomplete for good. */
export class MessageNotWhole extends Error {
	constructor(
		readonly messageId: string,
		readonly incomplete: boolean,
		counts: { chunk_count: number; received_chunks: number },
	) {
		const have = `${counts.received_chunks} of ${counts.chunk_count || "an unknown number of"} chunks arrived`;
		super(
			incomplete
				? `message "${messageId}" is incomplete (${have}); its body is not whole and cannot be read`
				: `message "${messageId}" is still receiving chunks (${have}); read it once it is whole`,
		);
	}
}

/** The message is marked whole but its stored chunks do not join into its body. */
export class MessageNotReadable extends Error {
	constructor(
		readonly messageId: string,
		why: string,
	) {
		super(
			`message "${messageId}" is stored whole but its chunks cannot be joined (${why}); its body cannot be read`,
		);
	}
}

function escapeLike(text: string): string {
	return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
