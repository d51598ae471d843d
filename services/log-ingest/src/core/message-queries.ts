import {
	type CopyBufferPool,
	CopyWriter,
	copyEncoded,
	copyOrConflict,
	packBytes,
	packTexts,
} from "../../../kit/src/index.js";
import type { Queryable } from "./types.js";

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
export interface WholeMessageRow {
	/** Its header as stored (a field of its own: spreading it into the row cost more than the row). */
	header: StoredHeader;
	/** Environment, run and message id (messageKey). */
	key: string;
	environmentId: string;
	runId: string;
	messageId: string;
	runSeq: bigint;
	bodySize: number;
	body: Uint8Array;
	searchText: string | null;
	nowMs: number;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Inserts messages that are complete on arrival as one row each, body inline,
 * in one statement. Returns the keys NOT inserted (nearly always none): a key
 * already present is left alone for the general path to judge.
 */
export async function insertWholeMessages(
	client: Queryable,
	rows: WholeMessageRow[],
	buffers?: CopyBufferPool,
): Promise<ReadonlySet<string>> {
	if (rows.length === 0) return NONE;
	const copied = await copyOrConflict(client, "whole", () =>
		copyEncoded(client, "log_messages", WHOLE_COPY_COLUMNS, wholeRowsWriter(rows, buffers)),
	);
	if (copied) return NONE;
	const inserted = await insertWholeMessagesOnConflict(client, rows);
	return new Set(rows.filter((r) => !inserted.has(r.key)).map((r) => r.key));
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

// Per row beyond the body and the text columns: 20 field lengths, the fixed-width values.
const WHOLE_ROW_FIXED_BYTES = 2 + 20 * 4 + 2 + 8 + 2 + 8 + 1 + 1 + 8 + 4 + 4 + 8 + 1 + 8;

/** The rows in WHOLE_COPY_COLUMNS order, written field by field with no value objects. */
function wholeRowsWriter(rows: WholeMessageRow[], buffers: CopyBufferPool | undefined): CopyWriter {
	let expected = 0;
	for (const row of rows) {
		expected += WHOLE_ROW_FIXED_BYTES + row.body.byteLength + row.messageId.length + row.runId.length;
		const header = row.header;
		expected += row.environmentId.length + header.attributes.length + (row.searchText?.length ?? 0);
		expected += header.taskId.length + header.attemptId.length + header.traceId.length;
	}
	const out = new CopyWriter(expected, buffers);
	for (const row of rows) {
		const header = row.header;
		out.row(WHOLE_COPY_COLUMNS.length);
		out.text(row.environmentId).text(row.runId).text(row.messageId);
		out.int2(1).int8Big(row.runSeq).int2(header.level).int8Big(header.loggedAtUs).jsonb(header.attributes);
		out.text(header.taskId).text(header.attemptId).text(header.traceId);
		out.bool(true).int8(row.bodySize).int4(1).int4(1).int8(row.bodySize).bool(true).bytea(row.body);
		if (row.searchText === null) out.null();
		else out.text(row.searchText);
		out.int8(row.nowMs);
	}
	return out;
}

/** insertWholeMessages for frames holding messages already stored: skips those rows. */
async function insertWholeMessagesOnConflict(
	client: Queryable,
	rows: WholeMessageRow[],
): Promise<Set<string>> {
	const inserted = new Set<string>();
	if (rows.length === 0) return inserted;
	const col = <T>(pick: (row: WholeMessageRow) => T) => rows.map(pick);
	const bodies = packBytes(col((r) => r.body));
	const texts = packTexts(col((r) => r.searchText));
	// One statement of parallel arrays: PostgreSQL parses a few arrays far faster than
	// a VALUES list of thousands of rows, which is what makes small messages cheap.
	const result = await client.query<{ environment_id: string; run_id: string; message_id: string }>(
		`INSERT INTO log_messages (environment_id, run_id, message_id, state, run_seq, level, logged_at_us,
		   attributes, task_id, attempt_id, trace_id, has_header, declared_size, chunk_count, received_chunks,
		   received_bytes, body_inline, body_head, search_text, last_chunk_at_ms)
		 SELECT e, r, m, 1, s, l, t, a::jsonb, ta, at, tr, true, n, 1, 1, n, true,
		   substring($12::bytea FROM bs FOR bl), convert_from(substring($15::bytea FROM xs FOR xl), 'UTF8'), $18::bigint
		 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::smallint[], $6::bigint[], $7::text[],
		   $8::text[], $9::text[], $10::text[], $11::bigint[], $13::int[], $14::int[], $16::int[], $17::int[])
		   AS u(e, r, m, s, l, t, a, ta, at, tr, n, bs, bl, xs, xl)
		 ON CONFLICT (environment_id, run_id, message_id) DO NOTHING
		 RETURNING environment_id, run_id, message_id`,
		[
			col((r) => r.environmentId),
			col((r) => r.runId),
			col((r) => r.messageId),
			col((r) => r.runSeq.toString()),
			col((r) => r.header.level),
			col((r) => r.header.loggedAtUs.toString()),
			col((r) => r.header.attributes),
			col((r) => r.header.taskId),
			col((r) => r.header.attemptId),
			col((r) => r.header.traceId),
			col((r) => r.bodySize),
			bodies.bytes,
			bodies.starts,
			bodies.lengths,
			texts.bytes,
			texts.starts,
			texts.lengths,
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
	}>({
		// Named statements: parsed and planned once per pooled connection, not per frame.
		name: "log-ingest-lock-messages",
		text: `INSERT INTO log_messages (environment_id, run_id, message_id, logged_at_us, last_chunk_at_ms)
		 SELECT e, r, m, $4::bigint * 1000, $4::bigint FROM unnest($1::text[], $2::text[], $3::text[]) AS t(e, r, m)
		 ON CONFLICT (environment_id, run_id, message_id) DO UPDATE
		   SET last_chunk_at_ms = greatest(log_messages.last_chunk_at_ms, EXCLUDED.last_chunk_at_ms)
		 RETURNING id, environment_id, run_id, message_id, state, has_header, declared_size, chunk_count,
		   received_chunks, received_bytes`,
		values: [keys.map((k) => k.environmentId), keys.map((k) => k.runId), keys.map((k) => k.messageId), nowMs],
	});
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
	// Heads (up to 64 KiB each) go as one binary parameter, not as hex in a bytea[].
	const heads = packBytes(col((u) => u.bodyHead));
	const texts = packTexts(col((u) => u.searchText));
	await client.query({
		name: "log-ingest-update-messages",
		text: `UPDATE log_messages m SET
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
		   body_head = substring($15::bytea FROM u.head_start FOR u.head_length),
		   search_text = convert_from(substring($18::bytea FROM u.text_start FOR u.text_length), 'UTF8'),
		   reject_reason = u.reject_reason
		 FROM unnest($1::bigint[], $2::smallint[], $3::bigint[], $4::int[], $5::int[], $6::bigint[], $7::bool[],
		   $8::smallint[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bigint[],
		   $16::int[], $17::int[], $19::int[], $20::int[], $21::text[])
		   AS u(id, state, run_seq, chunk_count, received_chunks, received_bytes, has_header, level, logged_at_us,
		     attributes, task_id, attempt_id, trace_id, declared_size, head_start, head_length, text_start,
		     text_length, reject_reason)
		 WHERE m.id = u.id`,
		values: [
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
			heads.bytes,
			heads.starts,
			heads.lengths,
			texts.bytes,
			texts.starts,
			texts.lengths,
			col((u) => u.rejectReason),
		],
	});
}
