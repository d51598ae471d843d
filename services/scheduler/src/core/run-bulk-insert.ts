import { randomBytes } from "node:crypto";
import type pg from "pg";
import { COPY_MIN_ROWS, CopyWriter, copyEncoded, copyOrConflict, packBytes } from "../../../kit/src/index.js";
import type { RetrySettings } from "./retry-delay.js";
import type { RunRow } from "./run-rows.js";
import type { OptionsDocument } from "./stored-options.js";

/** A run about to be inserted, column by column (the runs table's names). */
export interface NewRun {
	id: string;
	environment_id: string;
	task_id: string;
	status: "QUEUED" | "DELAYED";
	payload: Buffer;
	payload_type: string;
	/** The options the other columns do not hold (stored-options.ts). */
	options: OptionsDocument;
	queue: string;
	concurrency_key: string;
	priority: number;
	tags: string[];
	machine_name: string;
	cpu: number;
	memory_gb: number;
	max_attempts: number;
	retry: RetrySettings;
	max_duration_ms: number | null;
	ttl_ms: number | null;
	idempotency_key: string | null;
	idempotency_key_expires_at: Date | null;
	queue_seq: number;
	parent_run_id: string | null;
	parent_attempt_id: string | null;
	root_run_id: string;
	batch_id: string | null;
	batch_index: number | null;
	replay_of_run_id: string | null;
	deployment_version: string;
	schedule_id: string | null;
	created_at: Date;
	updated_at: Date;
	queued_at: Date | null;
	delay_until: Date | null;
	expires_at: Date | null;
}

/** The columns a new run sets. */
export const NEW_RUN_COLUMNS = [
	"id",
	"environment_id",
	"task_id",
	"status",
	"payload",
	"payload_type",
	"options",
	"queue",
	"concurrency_key",
	"priority",
	"tags",
	"machine_name",
	"cpu",
	"memory_gb",
	"max_attempts",
	"retry",
	"max_duration_ms",
	"ttl_ms",
	"idempotency_key",
	"idempotency_key_expires_at",
	"queue_seq",
	"parent_run_id",
	"parent_attempt_id",
	"root_run_id",
	"batch_id",
	"batch_index",
	"replay_of_run_id",
	"deployment_version",
	"schedule_id",
	"created_at",
	"updated_at",
	"queued_at",
	"delay_until",
	"expires_at",
] as const satisfies readonly (keyof NewRun)[];

const COLUMN_TYPES: Record<(typeof NEW_RUN_COLUMNS)[number], string> = {
	id: "text",
	environment_id: "text",
	task_id: "text",
	status: "text",
	payload: "text",
	payload_type: "text",
	options: "jsonb",
	queue: "text",
	concurrency_key: "text",
	priority: "integer",
	tags: "text[]",
	machine_name: "text",
	cpu: "double precision",
	memory_gb: "double precision",
	max_attempts: "integer",
	retry: "jsonb",
	max_duration_ms: "bigint",
	ttl_ms: "bigint",
	idempotency_key: "text",
	idempotency_key_expires_at: "timestamptz",
	queue_seq: "integer",
	parent_run_id: "text",
	parent_attempt_id: "text",
	root_run_id: "text",
	batch_id: "text",
	batch_index: "integer",
	replay_of_run_id: "text",
	deployment_version: "text",
	schedule_id: "text",
	created_at: "timestamptz",
	updated_at: "timestamptz",
	queued_at: "timestamptz",
	delay_until: "timestamptz",
	expires_at: "timestamptz",
};

/**
 * Many runs in one statement: the rows as one JSON array, read back by
 * json_to_recordset. A multi-row VALUES list costs a bind parameter per cell
 * (34,000 for 1,000 runs), each serialised in JS and parsed and planned by
 * PostgreSQL on every call; one JSON text is one native stringify here and one
 * plan per connection there (the statement is named). Payloads travel apart, packed
 * into the binary $5 (the kit's packBytes); rows hold where theirs starts and its
 * length. As base64 inside the JSON, a 3 MiB payload's statement took 169 ms
 * (escaped, parsed and decoded again) against 13 ms this way.
 * The options and retry documents go once each in a second parameter (runs of a
 * batch mostly share them) and rows name theirs by position: parsing the same
 * document into jsonb for every row was PostgreSQL's largest cost per run. The
 * environment and creation time, the same for all runs of a call, go once as well
 * ($3, $4); a row carries its own only where it differs.
 */
const INSERT_MANY = `WITH docs AS MATERIALIZED (SELECT $2::jsonb AS list)
	INSERT INTO runs (${NEW_RUN_COLUMNS.join(", ")})
	SELECT ${NEW_RUN_COLUMNS.map((c) => {
		if (c === "payload") return "substring($5::bytea FROM r.payload_start FOR r.payload_length)";
		if (c === "options" || c === "retry") return `docs.list -> r.${c}`;
		if (c === "environment_id") return "COALESCE(r.environment_id, $3)";
		if (c === "created_at" || c === "updated_at") return `COALESCE(r.${c}, $4::timestamptz)`;
		return `r.${c}`;
	}).join(", ")}
	FROM docs, json_to_recordset($1::json) AS r(${NEW_RUN_COLUMNS.map((c) =>
		c === "payload"
			? "payload_start integer, payload_length integer"
			: `${c} ${c === "options" || c === "retry" ? "integer" : COLUMN_TYPES[c]}`,
	).join(", ")})
	ON CONFLICT DO NOTHING
	RETURNING id`;

/**
 * Inserts the runs; returns the ids that were inserted (the others met a stored
 * batch index or live key). Inside a transaction, many runs go in by binary COPY
 * first: no JSON to build here or parse there, and no per-row conflict check. A
 * run already stored fails the COPY whole; then the INSERT below skips it.
 */
export async function insertRuns(
	client: pg.PoolClient,
	runs: NewRun[],
	inTransaction: boolean,
): Promise<Set<string>> {
	if (inTransaction && runs.length >= COPY_MIN_ROWS) {
		const copied = await copyOrConflict(client, "insert_runs", () =>
			copyEncoded(client, "runs", NEW_RUN_COLUMNS, runsWriter(runs)),
		);
		if (copied) return new Set(runs.map((r) => r.id));
	}
	const docs: unknown[] = [];
	const positions = new Map<unknown, number>();
	const position = (doc: unknown) => {
		let at = positions.get(doc);
		if (at === undefined) {
			at = docs.push(doc) - 1;
			positions.set(doc, at);
		}
		return at;
	};
	const first = runs[0];
	if (first === undefined) return new Set();
	const common = { environmentId: first.environment_id, time: first.created_at.getTime() };
	const payloads = packBytes(runs.map((run) => run.payload));
	const rows = JSON.stringify(
		runs.map((run, i) =>
			jsonRow(
				run,
				position(run.options),
				position(run.retry),
				common,
				payloads.starts[i] as number,
				payloads.lengths[i] as number,
			),
		),
	);
	const { rows: inserted } = await client.query<{ id: string }>({
		name: "scheduler-insert-runs-json",
		text: INSERT_MANY,
		values: [rows, JSON.stringify(docs), common.environmentId, first.created_at, payloads.bytes],
	});
	return new Set(inserted.map((r) => r.id));
}

/**
 * The stored runs that kept some of `wanted` from inserting, in one statement: per
 * wanted run, the run with its batch index if there is one, else the run holding
 * its idempotency key. Index i of the answer belongs to wanted[i]; undefined if
 * neither exists any more.
 */
export async function conflictingRuns(
	client: pg.PoolClient,
	environmentId: string,
	wanted: { batchId: string | null; batchIndex: number | null; idempotencyKey: string | null }[],
): Promise<(RunRow | undefined)[]> {
	const { rows } = await client.query<RunRow & { wanted: number }>(
		`SELECT DISTINCT ON (w.n) w.n - 1 AS wanted, runs.*
		 FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS w(batch_id, batch_index, key, n)
		 JOIN runs ON (runs.batch_id = w.batch_id AND runs.batch_index = w.batch_index)
			OR (runs.environment_id = $1 AND runs.idempotency_key = w.key)
		 ORDER BY w.n, (runs.batch_id = w.batch_id AND runs.batch_index = w.batch_index) DESC NULLS LAST`,
		[
			environmentId,
			wanted.map((w) => w.batchId),
			wanted.map((w) => w.batchIndex),
			wanted.map((w) => w.idempotencyKey),
		],
	);
	const out: (RunRow | undefined)[] = new Array(wanted.length).fill(undefined);
	for (const row of rows) out[Number(row.wanted)] = row;
	return out;
}

/** The row PostgreSQL holds for a run just inserted: its own values plus the table's defaults. */
export function insertedRow(r: NewRun): RunRow {
	// An object literal, not a spread: spreading 34 properties per run cost more than the insert itself.
	return {
		id: r.id,
		environment_id: r.environment_id,
		task_id: r.task_id,
		status: r.status,
		payload: r.payload,
		payload_type: r.payload_type,
		options: r.options,
		queue: r.queue,
		concurrency_key: r.concurrency_key,
		priority: r.priority,
		tags: r.tags,
		machine_name: r.machine_name,
		cpu: r.cpu,
		memory_gb: r.memory_gb,
		max_attempts: r.max_attempts,
		retry: r.retry,
		max_duration_ms: r.max_duration_ms,
		ttl_ms: r.ttl_ms,
		queue_seq: r.queue_seq,
		parent_run_id: r.parent_run_id,
		parent_attempt_id: r.parent_attempt_id,
		root_run_id: r.root_run_id,
		batch_id: r.batch_id,
		batch_index: r.batch_index,
		replay_of_run_id: r.replay_of_run_id,
		deployment_version: r.deployment_version,
		schedule_id: r.schedule_id,
		created_at: r.created_at,
		updated_at: r.updated_at,
		delay_until: r.delay_until,
		expires_at: r.expires_at,
		output: null,
		output_type: null,
		error: null,
		attempt_count: 0,
		queue_receipt: null,
		queue_consumer_id: null,
		worker_id: null,
		current_attempt_id: null,
		resume_attempt_id: null,
		started_at: null,
		deadline_at: null,
		completed_at: null,
	};
}

/**
 * A run as one element of the JSON the insert reads (where its payload lies in the
 * packed payloads, dates as ISO text, options and retry by position in the documents parameter). NULLs are left out (a missing key reads as NULL): fewer keys for PostgreSQL to parse.
 */
function jsonRow(
	r: NewRun,
	options: number,
	retry: number,
	common: { environmentId: string; time: number },
	payloadStart: number,
	payloadLength: number,
) {
	return {
		id: r.id,
		environment_id: r.environment_id === common.environmentId ? undefined : r.environment_id,
		task_id: r.task_id,
		status: r.status,
		payload_start: payloadStart,
		payload_length: payloadLength,
		payload_type: r.payload_type,
		options,
		queue: r.queue,
		concurrency_key: r.concurrency_key,
		priority: r.priority,
		tags: r.tags,
		machine_name: r.machine_name,
		cpu: r.cpu,
		memory_gb: r.memory_gb,
		max_attempts: r.max_attempts,
		retry,
		max_duration_ms: r.max_duration_ms ?? undefined,
		ttl_ms: r.ttl_ms ?? undefined,
		idempotency_key: r.idempotency_key ?? undefined,
		idempotency_key_expires_at: r.idempotency_key_expires_at ?? undefined,
		queue_seq: r.queue_seq,
		parent_run_id: r.parent_run_id ?? undefined,
		parent_attempt_id: r.parent_attempt_id ?? undefined,
		root_run_id: r.root_run_id,
		batch_id: r.batch_id ?? undefined,
		batch_index: r.batch_index ?? undefined,
		replay_of_run_id: r.replay_of_run_id ?? undefined,
		deployment_version: r.deployment_version,
		schedule_id: r.schedule_id ?? undefined,
		created_at: r.created_at.getTime() === common.time ? undefined : r.created_at,
		updated_at: r.updated_at.getTime() === common.time ? undefined : r.updated_at,
		queued_at: r.queued_at ?? undefined,
		delay_until: r.delay_until ?? undefined,
		expires_at: r.expires_at ?? undefined,
	};
}

/**
 * Run ids in the format of ids.ts's newId (prefix, time in base 36, 16 hex random
 * digits), with the random bits of all of them drawn in one call: one randomBytes
 * call per id cost more than the rest of building the run.
 */
export function newRunIds(now: number, count: number): string[] {
	const time = `run_${now.toString(36).padStart(9, "0")}`;
	const random = randomBytes(8 * count).toString("hex");
	const ids = new Array<string>(count);
	for (let i = 0; i < count; i++) ids[i] = time + random.slice(i * 16, i * 16 + 16);
	return ids;
}

/** The runs in NEW_RUN_COLUMNS order as binary COPY rows; each options or retry document is written as JSON once. */
function runsWriter(runs: NewRun[]): CopyWriter {
	const json = new Map<unknown, string>();
	const jsonOf = (doc: unknown) => {
		let text = json.get(doc);
		if (text === undefined) {
			text = JSON.stringify(doc);
			json.set(doc, text);
		}
		return text;
	};
	let expected = 0;
	for (const r of runs) expected += 400 + r.payload.byteLength + r.id.length * 2;
	const w = new CopyWriter(expected);
	const textOrNull = (value: string | null) => (value === null ? w.null() : w.text(value));
	const int8OrNull = (value: number | null) => (value === null ? w.null() : w.int8(value));
	const timeOrNull = (value: Date | null) => (value === null ? w.null() : w.timestamptz(value.getTime()));
	for (const r of runs) {
		w.row(NEW_RUN_COLUMNS.length);
		w.text(r.id).text(r.environment_id).text(r.task_id).text(r.status).bytea(r.payload).text(r.payload_type);
		w.jsonb(jsonOf(r.options)).text(r.queue).text(r.concurrency_key).int4(r.priority).textArray(r.tags);
		w.text(r.machine_name).float8(r.cpu).float8(r.memory_gb).int4(r.max_attempts).jsonb(jsonOf(r.retry));
		int8OrNull(r.max_duration_ms);
		int8OrNull(r.ttl_ms);
		textOrNull(r.idempotency_key);
		timeOrNull(r.idempotency_key_expires_at);
		w.int4(r.queue_seq);
		textOrNull(r.parent_run_id);
		textOrNull(r.parent_attempt_id);
		w.text(r.root_run_id);
		textOrNull(r.batch_id);
		if (r.batch_index === null) w.null();
		else w.int4(r.batch_index);
		textOrNull(r.replay_of_run_id);
		w.text(r.deployment_version);
		textOrNull(r.schedule_id);
		w.timestamptz(r.created_at.getTime()).timestamptz(r.updated_at.getTime());
		timeOrNull(r.queued_at);
		timeOrNull(r.delay_until);
		timeOrNull(r.expires_at);
	}
	return w;
}
