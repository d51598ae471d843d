import type pg from "pg";
import { type CopyValue, copyRows } from "./copy-in.js";

/** A pg client or pool: every query takes the client it runs on. */
export type Queryable = Pick<pg.PoolClient, "query">;

/** Runs touched by a frame and how many cursor values each may need. */
export interface RunClaim {
	environmentId: string;
	runId: string;
	count: number;
}

/**
 * Creates or bumps each run's cursor counter and returns the last value handed out.
 * Claims must be sorted so concurrent frames lock run rows in one order. The row
 * lock lasts until commit: that is what orders a run's cursors by commit time.
 */
export async function claimRunCursors(client: Queryable, claims: RunClaim[]): Promise<Map<string, bigint>> {
	const result = await client.query<{ environment_id: string; run_id: string; last_seq: string }>(
		`INSERT INTO log_runs (environment_id, run_id, last_seq)
		 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
		 ON CONFLICT (environment_id, run_id) DO UPDATE SET last_seq = log_runs.last_seq + EXCLUDED.last_seq
		 RETURNING environment_id, run_id, last_seq`,
		[claims.map((c) => c.environmentId), claims.map((c) => c.runId), claims.map((c) => c.count)],
	);
	return new Map(result.rows.map((r) => [`${r.environment_id}\u0000${r.run_id}`, BigInt(r.last_seq)]));
}

/** Header fields as stored (attributes as JSON text). */
export interface StoredHeader {
	level: number;
	loggedAtUs: bigint;
	attributes: string;
	taskId: string;
	attemptId: string;
	traceId: string;
}

/** A message that arrived whole in one chunk small enough to keep inline. */
export interface WholeMessageRow extends StoredHeader {
	environmentId: string;
	runId: string;
	messageId: string;
	runSeq: bigint;
	bodySize: number;
	body: Buffer;
	searchText: string | null;
	nowMs: number;
}

const MAX_PARAMS = 60_000;

/**
 * Inserts messages that are complete on arrival as one row each, body inline,
 * in one statement. Returns the keys
 * inserted; a key already present is left alone for the general path to judge.
 */
export async function insertWholeMessages(client: Queryable, rows: WholeMessageRow[]): Promise<Set<string>> {
	if (rows.length === 0) return new Set();
	const copied = await copyOrConflict(client, "whole", () =>
		copyRows(client, "log_messages", WHOLE_COPY_COLUMNS, rows.map(wholeCopyRow)),
	);
	if (copied) return new Set(rows.map((r) => `${r.environmentId}\u0000${r.runId}\u0000${r.messageId}`));
	return insertWholeMessagesOnConflict(client, rows);
}

const WHOLE_COPY_COLUMNS = [
	"environment_id",
	"run_id",
	"message_id",
	"state",
	"run_seq",
	"level",
	"logged_at_us",
	"attributes",
	"task_id",
	"attempt_id",
	"trace_id",
	"has_header",
	"declared_size",
	"chunk_count",
	"received_chunks",
	"received_bytes",
	"body_inline",
	"body_head",
	"search_text",
	"last_chunk_at_ms",
];

function wholeCopyRow(row: WholeMessageRow): CopyValue[] {
	const size = BigInt(row.bodySize);
	return [
		{ type: "text", value: row.environmentId },
		{ type: "text", value: row.runId },
		{ type: "text", value: row.messageId },
		{ type: "int2", value: 1 },
		{ type: "int8", value: row.runSeq },
		{ type: "int2", value: row.level },
		{ type: "int8", value: row.loggedAtUs },
		{ type: "jsonb", value: row.attributes },
		{ type: "text", value: row.taskId },
		{ type: "text", value: row.attemptId },
		{ type: "text", value: row.traceId },
		{ type: "bool", value: true },
		{ type: "int8", value: size },
		{ type: "int4", value: 1 },
		{ type: "int4", value: 1 },
		{ type: "int8", value: size },
		{ type: "bool", value: true },
		{ type: "bytea", value: row.body },
		row.searchText === null ? null : { type: "text", value: row.searchText },
		{ type: "int8", value: BigInt(row.nowMs) },
	];
}

const UNIQUE_VIOLATION = "23505";

/**
 * Runs a binary COPY inside a savepoint: the fast way in when no row exists yet,
 * which is nearly always. A row already there (a sender's retry) fails the COPY as
 * a whole; then the savepoint is rolled back and false tells the caller to take the
 * slower statement that skips existing rows one by one.
 */
async function copyOrConflict(
	client: Queryable,
	name: string,
	copy: () => Promise<number>,
): Promise<boolean> {
	await client.query(`SAVEPOINT ${name}`);
	try {
		await copy();
		await client.query(`RELEASE SAVEPOINT ${name}`);
		return true;
	} catch (error) {
		if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
		await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
		return false;
	}
}

/** insertWholeMessages for frames holding messages already stored: skips those rows. */
async function insertWholeMessagesOnConflict(
	client: Queryable,
	rows: WholeMessageRow[],
): Promise<Set<string>> {
	const inserted = new Set<string>();
	if (rows.length === 0) return inserted;
	const col = <T>(pick: (row: WholeMessageRow) => T) => rows.map(pick);
	// One statement of parallel arrays: PostgreSQL parses a few arrays far faster than
	// a VALUES list of thousands of rows, which is what makes small messages cheap.
	const result = await client.query<{ environment_id: string; run_id: string; message_id: string }>(
		`INSERT INTO log_messages (environment_id, run_id, message_id, state, run_seq, level, logged_at_us,
		   attributes, task_id, attempt_id, trace_id, has_header, declared_size, chunk_count, received_chunks,
		   received_bytes, body_inline, body_head, search_text, last_chunk_at_ms)
		 SELECT e, r, m, 1, s, l, t, a::jsonb, ta, at, tr, true, n, 1, 1, n, true, b, x, $14::bigint
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::smallint[], $6::bigint[], $7::text[],
		   $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bytea[], $13::text[])
		   AS u(e, r, m, s, l, t, a, ta, at, tr, n, b, x)
		 ON CONFLICT (environment_id, run_id, message_id) DO NOTHING
		 RETURNING environment_id, run_id, message_id`,
		[
			col((r) => r.environmentId),
			col((r) => r.runId),
			col((r) => r.messageId),
			col((r) => r.runSeq.toString()),
			col((r) => r.level),
			col((r) => r.loggedAtUs.toString()),
			col((r) => r.attributes),
			col((r) => r.taskId),
			col((r) => r.attemptId),
			col((r) => r.traceId),
			col((r) => r.bodySize),
			col((r) => r.body),
			col((r) => r.searchText),
			rows[0]?.nowMs,
		],
	);
	for (const r of result.rows) inserted.add(`${r.environment_id}\u0000${r.run_id}\u0000${r.message_id}`);
	return inserted;
}

/** A message row as the general path sees it, locked for the rest of the transaction. */
export interface ReceivingRow {
	id: bigint;
	key: string;
	state: number;
	hasHeader: boolean;
	declaredSize: bigint | null;
	chunkCount: number;
	receivedChunks: number;
	receivedBytes: number;
}

/**
 * Creates message rows for keys not seen before and locks every row, in key order.
 * Touching last_chunk_at_ms is what keeps a slowly arriving message from being swept.
 */
export async function lockMessages(
	client: Queryable,
	keys: Array<{ environmentId: string; runId: string; messageId: string }>,
	nowMs: number,
): Promise<Map<string, ReceivingRow>> {
	const result = await client.query<{
		id: string;
		environment_id: string;
		run_id: string;
		message_id: string;
		state: number;
		has_header: boolean;
		declared_size: string | null;
		chunk_count: number;
		received_chunks: number;
		received_bytes: string;
	}>(
		`INSERT INTO log_messages (environment_id, run_id, message_id, logged_at_us, last_chunk_at_ms)
		 SELECT e, r, m, $4::bigint * 1000, $4::bigint FROM unnest($1::text[], $2::text[], $3::text[]) AS t(e, r, m)
		 ON CONFLICT (environment_id, run_id, message_id) DO UPDATE
		   SET last_chunk_at_ms = greatest(log_messages.last_chunk_at_ms, EXCLUDED.last_chunk_at_ms)
		 RETURNING id, environment_id, run_id, message_id, state, has_header, declared_size, chunk_count,
		   received_chunks, received_bytes`,
		[keys.map((k) => k.environmentId), keys.map((k) => k.runId), keys.map((k) => k.messageId), nowMs],
	);
	return new Map(
		result.rows.map((r) => {
			const key = `${r.environment_id}\u0000${r.run_id}\u0000${r.message_id}`;
			return [
				key,
				{
					id: BigInt(r.id),
					key,
					state: r.state,
					hasHeader: r.has_header,
					declaredSize: r.declared_size === null ? null : BigInt(r.declared_size),
					chunkCount: r.chunk_count,
					receivedChunks: r.received_chunks,
					receivedBytes: Number(r.received_bytes),
				},
			];
		}),
	);
}

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

/** The new state of a locked message row after a frame. */
export interface MessageUpdate {
	id: bigint;
	state: number;
	runSeq: bigint | null;
	header: (StoredHeader & { declaredSize: bigint | null }) | null;
	chunkCount: number;
	receivedChunks: number;
	receivedBytes: number;
	bodyHead: Buffer | null;
	searchText: string | null;
	rejectReason: string | null;
}

/** Writes the new state of many message rows in one statement. */
export async function updateMessages(client: Queryable, updates: MessageUpdate[]): Promise<void> {
	if (updates.length === 0) return;
	const col = <T>(pick: (u: MessageUpdate) => T) => updates.map(pick);
	await client.query(
		`UPDATE log_messages m SET
		   state = u.state, run_seq = u.run_seq, chunk_count = u.chunk_count,
		   received_chunks = u.received_chunks, received_bytes = u.received_bytes,
		   has_header = m.has_header OR u.has_header,
		   level = CASE WHEN u.has_header THEN u.level ELSE m.level END,
		   logged_at_us = CASE WHEN u.has_header THEN u.logged_at_us ELSE m.logged_at_us END,
		   attributes = CASE WHEN u.has_header THEN u.attributes::jsonb ELSE m.attributes END,
		   task_id = CASE WHEN u.has_header THEN u.task_id ELSE m.task_id END,
		   attempt_id = CASE WHEN u.has_header THEN u.attempt_id ELSE m.attempt_id END,
		   trace_id = CASE WHEN u.has_header THEN u.trace_id ELSE m.trace_id END,
		   declared_size = CASE WHEN u.has_header THEN u.declared_size ELSE m.declared_size END,
		   body_head = u.body_head, search_text = u.search_text, reject_reason = u.reject_reason
		 FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::int[], $5::int[], $6::bigint[], $7::bool[],
		   $8::smallint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[],
		   $15::bytea[], $16::text[], $17::text[])
		   AS u(id, state, run_seq, chunk_count, received_chunks, received_bytes, has_header, level, logged_at_us,
		     attributes, task_id, attempt_id, trace_id, declared_size, body_head, search_text, reject_reason)
		 WHERE m.id = u.id`,
		[
			col((u) => u.id.toString()),
			col((u) => u.state),
			col((u) => u.runSeq?.toString() ?? null),
			col((u) => u.chunkCount),
			col((u) => u.receivedChunks),
			col((u) => u.receivedBytes),
			col((u) => u.header !== null),
			col((u) => u.header?.level ?? 0),
			col((u) => u.header?.loggedAtUs.toString() ?? "0"),
			col((u) => u.header?.attributes ?? "{}"),
			col((u) => u.header?.taskId ?? ""),
			col((u) => u.header?.attemptId ?? ""),
			col((u) => u.header?.traceId ?? ""),
			col((u) => u.header?.declaredSize?.toString() ?? null),
			col((u) => u.bodyHead),
			col((u) => u.searchText),
			col((u) => u.rejectReason),
		],
	);
}

/** Deletes the chunks of messages that were rejected. */
export async function deleteChunks(client: Queryable, messagePks: bigint[]): Promise<void> {
	if (messagePks.length === 0) return;
	await client.query("DELETE FROM log_chunks WHERE message_pk = ANY($1::bigint[])", [
		messagePks.map((pk) => pk.toString()),
	]);
}

/** Wakes Tail streams of these runs once the transaction commits. */
export async function notifyRuns(client: Queryable, channel: string, payloads: string[]): Promise<void> {
	if (payloads.length === 0) return;
	await client.query("SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p", [channel, payloads]);
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
