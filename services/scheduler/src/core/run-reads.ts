import { ServiceError } from "../../../kit/src/index.js";
import { metadataWireBytes } from "./metadata-size.js";
import { type AttemptRow, attemptFromRow, type RunRow, runFromRow } from "./run-rows.js";
import type { RunRecord, RunStatus, TaskErrorInfo } from "./run-types.js";
import { isFinal } from "./run-types.js";
import { sleepOrWake } from "./run-watch.js";
import type { SchedulerContext } from "./scheduler-context.js";

/** Filters of ListRuns; empty lists mean any. */
export interface RunFilter {
	environmentId: string;
	statuses: RunStatus[];
	taskIds: string[];
	tags: string[];
	queues: string[];
	createdFrom: Date | null;
	createdTo: Date | null;
	batchId: string;
	pageSize: number;
	/** The last id of the previous page. */
	afterId: string;
	/** A page ends early (after at least one run) where its runs' outputs, errors and metadata pass this. */
	budgetBytes: number;
}

// Every column of runs but the payload (up to the payload limit per run), which a
// read of many runs' outcomes has no use for: an empty payload stands in its place.
const COLUMN_LIST_WITHOUT_PAYLOAD = [
	"id",
	"environment_id",
	"task_id",
	"status",
	"'\\x'::bytea AS payload",
	"payload_type",
	"output",
	"output_type",
	"error",
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
	"attempt_count",
	"queue_seq",
	"queue_receipt",
	"queue_consumer_id",
	"worker_id",
	"current_attempt_id",
	"resume_attempt_id",
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
	"delay_until",
	"expires_at",
	"started_at",
	"deadline_at",
	"completed_at",
];
const COLUMNS_WITHOUT_PAYLOAD = COLUMN_LIST_WITHOUT_PAYLOAD.join(", ");

// What ListRuns reads of each run: neither payload nor output, which a listing does
// not carry. Selected and then dropped, a page of 100 runs with 1 MB payloads took
// 450–580 ms, all of it reading and parsing bytes nobody saw.
const LIST_COLUMNS = COLUMN_LIST_WITHOUT_PAYLOAD.map((c) =>
	c === "output" ? "NULL::bytea AS output" : c,
).join(", ");

// What GetRuns outcome_only reads of each run.
const OUTCOME_COLUMNS = "id, status, output, output_type, error, batch_id, batch_index";

/** A run's outcome: what a caller reading many runs' results needs (GetRuns outcome_only). */
export interface RunOutcome {
	id: string;
	status: RunStatus;
	output: Uint8Array | null;
	outputType: string;
	error: TaskErrorInfo | null;
	batchId: string;
	batchIndex: number;
}

function outcomeFromRow(row: RunRow): RunOutcome {
	return {
		id: row.id,
		status: row.status,
		output: row.output,
		outputType: row.output_type ?? "",
		error: row.error,
		batchId: row.batch_id ?? "",
		batchIndex: row.batch_index ?? 0,
	};
}

/**
 * What a run adds to an answer of many runs at most, beside its fixed fields: its
 * output, its error and its metadata (each bounded on its own, not together).
 */
function answerBytesOf(row: RunRow): number {
	const metadata = row.options?.metadata;
	return (
		(row.output?.byteLength ?? 0) +
		(row.error === null ? 0 : JSON.stringify(row.error).length) +
		(metadata === null || metadata === undefined ? 0 : metadataWireBytes(metadata))
	);
}

/** The longest prefix of rows whose answer bytes fit the budget, never fewer than one. */
function withinBudget(rows: RunRow[], budgetBytes: number): RunRow[] {
	let bytes = 0;
	for (let i = 0; i < rows.length; i++) {
		bytes += answerBytesOf(rows[i] as RunRow);
		if (bytes > budgetBytes && i > 0) return rows.slice(0, i);
	}
	return rows;
}

/** Reading runs: one with attempts, pages of many, and following one until it is final. */
export class RunReader {
	constructor(private readonly ctx: SchedulerContext) {}

	/** One run with its attempts; NOT_FOUND outside its environment. */
	async get(environmentId: string, runId: string): Promise<RunRecord> {
		const { rows } = await this.ctx.pool.query<RunRow>(
			"SELECT * FROM runs WHERE id = $1 AND environment_id = $2",
			[runId, environmentId],
		);
		const row = rows[0];
		if (row === undefined) throw ServiceError.notFound("run", runId);
		const attempts = await this.ctx.pool.query<AttemptRow>(
			"SELECT * FROM attempts WHERE run_id = $1 ORDER BY number",
			[runId],
		);
		return { ...runFromRow(row), attempts: attempts.rows.map(attemptFromRow) };
	}

	/**
	 * Runs by id in the order given, without attempts or payload: the runs of the
	 * longest prefix of `runIds` whose outputs and errors fit `budgetBytes` (never
	 * fewer than one). NOT_FOUND names the first id not in the environment.
	 */
	getMany(environmentId: string, runIds: string[], budgetBytes: number): Promise<RunRecord[]> {
		return this.#readMany(COLUMNS_WITHOUT_PAYLOAD, runFromRow, environmentId, runIds, budgetBytes);
	}

	/** getMany with only each run's outcome, read from only the columns that hold it. */
	getOutcomes(environmentId: string, runIds: string[], budgetBytes: number): Promise<RunOutcome[]> {
		return this.#readMany(OUTCOME_COLUMNS, outcomeFromRow, environmentId, runIds, budgetBytes);
	}

	async #readMany<T>(
		columns: string,
		fromRow: (row: RunRow) => T,
		environmentId: string,
		runIds: string[],
		budgetBytes: number,
	): Promise<T[]> {
		// One primary-key lookup per id, whatever the statistics say. Asked as
		// `environment_id = $1 AND id = ANY($2)`, a planner that believes the environment
		// small (a fresh bulk load, or an average over many small environments) reads all
		// of its runs through the environment index and filters them by id: a thousand
		// runs of a 50,000-run environment took 20–27 ms instead of 3–6. The LIMIT keeps
		// the subquery from being flattened into a join the planner could turn that way.
		const { rows } = await this.ctx.pool.query<RunRow>(
			`SELECT run.* FROM unnest($2::text[]) AS asked(id),
				LATERAL (SELECT ${columns} FROM runs WHERE runs.id = asked.id AND runs.environment_id = $1 LIMIT 1) run`,
			[environmentId, [...new Set(runIds)]],
		);
		const byId = new Map(rows.map((row) => [row.id, row]));
		const runs: T[] = [];
		let bytes = 0;
		for (const id of runIds) {
			const row = byId.get(id);
			if (row === undefined) throw ServiceError.notFound("run", id);
			bytes += answerBytesOf(row);
			if (bytes > budgetBytes && runs.length > 0) break;
			runs.push(fromRow(row));
		}
		return runs;
	}

	/** A page of runs, newest first (ids sort by creation time). */
	async list(filter: RunFilter): Promise<{ runs: RunRecord[]; nextAfterId: string }> {
		const where = ["environment_id = $1"];
		const params: unknown[] = [filter.environmentId];
		const add = (sql: string, value: unknown) => {
			params.push(value);
			where.push(sql.replace("?", `$${params.length}`));
		};
		if (filter.statuses.length > 0) add("status = ANY(?)", filter.statuses);
		if (filter.taskIds.length > 0) add("task_id = ANY(?)", filter.taskIds);
		// The tags index holds tagged runs only (migration 009); the second clause, which the
		// first implies, is what lets the planner use it.
		if (filter.tags.length > 0) add("tags && ? AND tags <> '{}'", filter.tags);
		if (filter.queues.length > 0) add("queue = ANY(?)", filter.queues);
		if (filter.createdFrom !== null) add("created_at >= ?", filter.createdFrom);
		if (filter.createdTo !== null) add("created_at < ?", filter.createdTo);
		if (filter.batchId !== "") add("batch_id = ?", filter.batchId);
		if (filter.afterId !== "") add("id < ?", filter.afterId);
		params.push(filter.pageSize + 1);
		const { rows } = await this.ctx.pool.query<RunRow>(
			`SELECT ${LIST_COLUMNS} FROM runs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT $${params.length}`,
			params,
		);
		const page = withinBudget(rows.slice(0, filter.pageSize), filter.budgetBytes);
		const more = rows.length > page.length;
		return {
			runs: page.map((row) => runFromRow(row)),
			nextAfterId: more ? (page[page.length - 1] as RunRow).id : "",
		};
	}

	/** Yields the run now and after each status change; ends after a final status. */
	async *follow(
		environmentId: string,
		runId: string,
		pollMs: number,
		signal: AbortSignal,
	): AsyncGenerator<RunRecord> {
		let last = "";
		while (!signal.aborted) {
			const run = await this.get(environmentId, runId);
			const seen = `${run.status}:${run.attemptCount}`;
			if (seen !== last) {
				last = seen;
				yield run;
			}
			if (isFinal(run.status)) return;
			await sleepOrWake(this.ctx.watch, runId, pollMs, signal);
		}
	}
}
