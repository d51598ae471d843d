import type { RunRow } from "./run-rows.js";
import type { AttemptStatus, TaskErrorInfo } from "./run-types.js";

/** The locked run with its worker (w_*, null when unknown) and, if unlocked, the current deployment version. */
export type StartRow = RunRow & {
	w_found: boolean;
	w_environment_id: string | null;
	w_deployment_version: string | null;
	w_task_ids: string[] | null;
	w_cpu: number | null;
	w_memory_gb: number | null;
	w_dead_at: Date | null;
	current_version: string | null;
};

/** The attempt's columns returned beside the started run's (a_*). */
export interface StartedAttemptColumns {
	a_id: string;
	a_run_id: string;
	a_number: number;
	a_status: AttemptStatus;
	a_worker_id: string;
	a_started_at: Date;
	a_completed_at: Date | null;
	a_error: TaskErrorInfo | null;
	/** What the worker's other EXECUTING runs take, summed under the worker's lock. */
	placed_cpu: number;
	placed_memory_gb: number;
}

/**
 * Locks the run ($1) and reads the worker ($2) and the current deployment version
 * (partial unique index deployments_current_idx) in one round trip.
 */
export const START_READ_SQL = `SELECT r.*, w.id IS NOT NULL AS w_found, w.environment_id AS w_environment_id,
	w.deployment_version AS w_deployment_version, w.task_ids AS w_task_ids, w.cpu AS w_cpu,
	w.memory_gb AS w_memory_gb, w.dead_at AS w_dead_at,
	CASE WHEN r.deployment_version = '' THEN
		(SELECT d.version FROM deployments d WHERE d.environment_id = r.environment_id AND d.is_current)
	END AS current_version
 FROM runs r LEFT JOIN workers w ON w.id = $2
 WHERE r.id = $1 FOR UPDATE OF r`;

// Shared tail of both start statements: the guarded QUEUED -> EXECUTING update and
// the placement check (migration 005: the per-worker lock, then the sum of the worker's
// other EXECUTING runs as placed_*), returned with the run's row and the attempt's columns.
// $1 run, $2 now, $3 worker, $4 attempt id, $5 deadline, $6 receipt, $7 consumer, $8 version.
const START_TAIL = `r AS (
	UPDATE runs SET status = 'EXECUTING', updated_at = $2, worker_id = $3, current_attempt_id = $4,
		resume_attempt_id = NULL, attempt_count = (SELECT number FROM a), started_at = COALESCE(started_at, $2),
		deadline_at = $5, queue_receipt = $6, queue_consumer_id = $7, deployment_version = $8, expires_at = NULL
	WHERE id = $1 AND status = 'QUEUED' RETURNING *
), p AS (SELECT * FROM worker_used_after_lock($3, $1))
SELECT r.*, a.id AS a_id, a.run_id AS a_run_id, a.number AS a_number, a.status AS a_status,
	a.worker_id AS a_worker_id, a.started_at AS a_started_at, a.completed_at AS a_completed_at, a.error AS a_error,
	p.cpu AS placed_cpu, p.memory_gb AS placed_memory_gb
FROM r, a, p`;

/** Inserts attempt number $9 and starts the run on it. */
export const START_NEW_SQL = `WITH a AS (
	INSERT INTO attempts (id, run_id, number, status, worker_id, started_at)
	VALUES ($4, $1, $9, 'EXECUTING', $3, $2) RETURNING *
), ${START_TAIL}`;

/** Moves a resumed attempt to the worker and continues the run on it. */
export const START_RESUME_SQL = `WITH a AS (
	UPDATE attempts SET worker_id = $3 WHERE id = $4 RETURNING *
), ${START_TAIL}`;
