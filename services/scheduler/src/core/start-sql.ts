import type { MessageColumns, RunRow } from "./run-rows.js";
import type { AttemptStatus, TaskErrorInfo } from "./run-types.js";

/** Why start_attempt (migration 006) refused a start; null when it started the run. */
export type StartRefusal =
	| "run_not_found"
	| "run_not_queued"
	| "worker_unknown"
	| "worker_task"
	| "worker_version"
	| "worker_full";

/**
 * One row of START_SQL: the run's columns (after the start, or as locked when
 * refused; all null when not found), the attempt's (a_*), and what the checks saw.
 */
export type StartRow = RunRow & {
	refusal: StartRefusal | null;
	a_id: string;
	a_run_id: string;
	a_number: number;
	a_status: AttemptStatus;
	a_worker_id: string;
	a_started_at: Date;
	a_completed_at: Date | null;
	a_error: TaskErrorInfo | null;
	resumed: boolean | null;
	needed_version: string | null;
	worker_version: string | null;
	worker_cpu: number | null;
	worker_memory_gb: number | null;
	/** What the worker's other EXECUTING runs take, summed under the worker's lock. */
	placed_cpu: number | null;
	placed_memory_gb: number | null;
};

/**
 * StartAttempt for a batch of calls in one autocommit statement: one start_attempt
 * (migration 006, which holds the checks and locks) per element of the arrays
 * $1 run, $2 worker, $3 now, $4 new attempt id, $5 receipt, $6 consumer, in array
 * order (each sees the starts before it: one transaction), rows in the same order.
 */
export const START_SQL = `SELECT s.refusal, (s.run).*, (s.attempt).id AS a_id, (s.attempt).run_id AS a_run_id,
	(s.attempt).number AS a_number, (s.attempt).status AS a_status, (s.attempt).worker_id AS a_worker_id,
	(s.attempt).started_at AS a_started_at, (s.attempt).completed_at AS a_completed_at,
	(s.attempt).error AS a_error, s.resumed, s.needed_version, s.worker_version, s.worker_cpu,
	s.worker_memory_gb, s.placed_cpu, s.placed_memory_gb
 FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[])
	WITH ORDINALITY AS i (run_id, worker_id, now, attempt_id, receipt, consumer_id, n)
 CROSS JOIN LATERAL start_attempt(i.run_id, i.worker_id, i.now, i.attempt_id, i.receipt, i.consumer_id) s
 ORDER BY i.n`;

/** Why complete_attempt (migration 006) refused a completion; null when it recorded it. */
export type CompleteRefusal = "attempt_not_found" | "attempt_not_running" | "attempt_other_worker";

/** One row of COMPLETE_SQL: the run after the completion (null columns when refused) and what the call did. */
export type CompleteRow = RunRow & {
	refusal: CompleteRefusal | null;
	attempt_status: string | null;
	attempt_worker: string | null;
	found_status: string | null;
	prev_receipt: string | null;
	prev_consumer: string | null;
	retry_at: Date | null;
	resolved_waits: string[];
	/** Parents the completion resumed: what each continuation's queue message needs. */
	resumed_runs: MessageColumns[];
};

/**
 * CompleteAttempt for a batch of calls in one autocommit statement: one
 * complete_attempt (migration 006: the checks, the retry delay, the resolution of
 * waiting parents) per element of the arrays $1 attempt, $2 worker, $3 now,
 * $5 output type, $6 error, $7 retryable, $8 jitter r in [1, 2), in array order,
 * rows in the same order. The outputs (up to SCHEDULER_MAX_OUTPUT_BYTES each) are
 * packed into the binary $4 and sliced out by $9 start and $10 length (the kit's
 * packBytes), not sent as hex inside a bytea[].
 */
export const COMPLETE_SQL = `SELECT s.refusal, (s.run).*, s.attempt_status, s.attempt_worker, s.found_status,
	s.prev_receipt, s.prev_consumer, s.retry_at, s.resolved_waits, s.resumed_runs
 FROM unnest($1::text[], $2::text[], $3::timestamptz[], $9::int[], $10::int[], $5::text[], $6::jsonb[],
	$7::boolean[], $8::float8[])
	WITH ORDINALITY AS i (attempt_id, worker_id, now, output_start, output_length, output_type, error, retryable,
	jitter, n)
 CROSS JOIN LATERAL complete_attempt(i.attempt_id, i.worker_id, i.now,
	substring($4::bytea FROM i.output_start FOR i.output_length), i.output_type, i.error, i.retryable, i.jitter) s
 ORDER BY i.n`;
