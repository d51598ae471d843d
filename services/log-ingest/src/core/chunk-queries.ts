import type pg from "pg";
import {
	type CopyBufferPool,
	CopyWriter,
	copyEncoded,
	copyOrConflict,
	copyRowsOut,
} from "../../../kit/src/index.js";
import type { Queryable } from "./types.js";

const MAX_PARAMS = 60_000;

/** One chunk row to store. */
export interface ChunkRow {
	messagePk: bigint;
	sequence: number;
	compression: number;
	rawSize: number;
	data: Buffer;
}

const CHUNK_COLUMNS = 5;

/**
 * Stores chunks in multi-row statements with their bytes as binary parameters.
 * A chunk already stored is skipped; returns "pk:sequence" of those inserted, so
 * the caller counts the rest as duplicates.
 */
export async function insertChunks(
	client: Queryable,
	rows: ChunkRow[],
	buffers?: CopyBufferPool,
): Promise<Set<string>> {
	if (rows.length === 0) return new Set();
	const copied = await copyOrConflict(client, "chunks", () =>
		copyEncoded(
			client,
			"log_chunks",
			["message_pk", "sequence", "compression", "raw_size", "data"],
			chunkRowsWriter(rows, buffers),
		),
	);
	if (copied) return new Set(rows.map((r) => `${r.messagePk}:${r.sequence}`));
	const inserted = new Set<string>();
	const perStatement = Math.floor(MAX_PARAMS / CHUNK_COLUMNS);
	for (let start = 0; start < rows.length; start += perStatement) {
		const batch = rows.slice(start, start + perStatement);
		const params: unknown[] = [];
		const tuples = batch.map((row) => {
			const b = params.length;
			params.push(row.messagePk.toString(), row.sequence, row.compression, row.rawSize, row.data);
			return `($${b + 1}::bigint, $${b + 2}::int, $${b + 3}::smallint, $${b + 4}::int, $${b + 5}::bytea)`;
		});
		const result = await client.query<{ message_pk: string; sequence: number }>(
			`INSERT INTO log_chunks (message_pk, sequence, compression, raw_size, data) VALUES ${tuples.join(", ")}
			 ON CONFLICT (message_pk, sequence) DO NOTHING RETURNING message_pk, sequence`,
			params,
		);
		for (const r of result.rows) inserted.add(`${r.message_pk}:${r.sequence}`);
	}
	return inserted;
}

/** The rows in COPY order: message_pk, sequence, compression, raw_size, data. */
function chunkRowsWriter(rows: ChunkRow[], buffers: CopyBufferPool | undefined): CopyWriter {
	const out = new CopyWriter(
		rows.reduce((sum, r) => sum + 42 + r.data.byteLength, 0),
		buffers,
	);
	for (const r of rows) {
		out.row(5).int8Big(r.messagePk).int4(r.sequence).int2(r.compression).int4(r.rawSize).bytea(r.data);
	}
	return out;
}

/** Deletes the chunks of messages that were rejected. */
export async function deleteChunks(client: Queryable, messagePks: bigint[]): Promise<void> {
	if (messagePks.length === 0) return;
	await client.query("DELETE FROM log_chunks WHERE message_pk = ANY($1::bigint[])", [
		messagePks.map((pk) => pk.toString()),
	]);
}

/**
 * The highest stored sequence of each message, for messages that stored chunks
 * before their chunk count was known: a count learnt later must hold for those too.
 */
export async function lastStoredSequences(
	client: Queryable,
	messagePks: bigint[],
): Promise<Map<bigint, number>> {
	if (messagePks.length === 0) return new Map();
	const result = await client.query<{ message_pk: string; last: number }>(
		`SELECT message_pk, max(sequence) AS last FROM log_chunks
		 WHERE message_pk = ANY($1::bigint[]) GROUP BY message_pk`,
		[messagePks.map((pk) => pk.toString())],
	);
	return new Map(result.rows.map((r) => [BigInt(r.message_pk), r.last]));
}

/**
 * Reads the first maxBytes of a stored body, chunk by chunk in sequence order,
 * returning each chunk's stored form for the caller to decode.
 */
export async function readChunkAt(
	client: pg.ClientBase,
	messagePk: bigint,
	fromSequence: number,
	limit: number,
): Promise<Array<{ sequence: number; compression: number; data: Buffer }>> {
	// By COPY, so a chunk's bytes arrive as they are stored (see copyRowsOut). Its
	// query takes no parameters: the three values are written as integer literals.
	const rows = await copyRowsOut(
		client,
		`SELECT sequence, compression, data FROM log_chunks
		 WHERE message_pk = ${BigInt(messagePk)} AND sequence >= ${integer(fromSequence)}
		 ORDER BY sequence LIMIT ${integer(limit)}`,
	);
	return rows.map(([sequence, compression, data]) => ({
		sequence: (sequence as Buffer).readInt32BE(0),
		compression: (compression as Buffer).readInt16BE(0),
		data: data as Buffer,
	}));
}

/** A number as an integer literal; anything else is a caller's bug, never SQL. */
function integer(value: number): string {
	if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an integer`);
	return String(value);
}
