import { copyOrConflict, copyRows } from "./copy-in.js";
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
export async function insertChunks(client: Queryable, rows: ChunkRow[]): Promise<Set<string>> {
	if (rows.length === 0) return new Set();
	const copied = await copyOrConflict(client, "chunks", () =>
		copyRows(
			client,
			"log_chunks",
			["message_pk", "sequence", "compression", "raw_size", "data"],
			rows.map((r) => [
				{ type: "int8", value: r.messagePk },
				{ type: "int4", value: r.sequence },
				{ type: "int2", value: r.compression },
				{ type: "int4", value: r.rawSize },
				{ type: "bytea", value: r.data },
			]),
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

/** Deletes the chunks of messages that were rejected. */
export async function deleteChunks(client: Queryable, messagePks: bigint[]): Promise<void> {
	if (messagePks.length === 0) return;
	await client.query("DELETE FROM log_chunks WHERE message_pk = ANY($1::bigint[])", [
		messagePks.map((pk) => pk.toString()),
	]);
}

/**
 * Reads the first maxBytes of a stored body, chunk by chunk in sequence order,
 * returning each chunk's stored form for the caller to decode.
 */
export async function readChunkAt(
	client: Queryable,
	messagePk: bigint,
	fromSequence: number,
	limit: number,
): Promise<Array<{ sequence: number; compression: number; data: Buffer }>> {
	const result = await client.query<{ sequence: number; compression: number; data: Buffer }>(
		`SELECT sequence, compression, data FROM log_chunks
		 WHERE message_pk = $1 AND sequence >= $2 ORDER BY sequence LIMIT $3`,
		[messagePk.toString(), fromSequence, limit],
	);
	return result.rows;
}
