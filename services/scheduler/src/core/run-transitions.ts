import type pg from "pg";
import { COMPLETIONS_TOPIC } from "./run-completions.js";
import type { DeliveryOutcome } from "./run-queue.js";
import { messageFor, type RunRow, waitResultOf } from "./run-rows.js";
import type { AttemptStatus, RunStatus, TaskErrorInfo } from "./run-types.js";
import { addEffects, type Effects, noEffects } from "./scheduler-context.js";

/** How a final status settles the queue delivery of a run that was executing. */
export function outcomeOf(status: RunStatus): DeliveryOutcome {
	switch (status) {
		case "COMPLETED":
			return "COMPLETED";
		case "CANCELED":
			return "CANCELED";
		case "EXPIRED":
			return "EXPIRED";
		case "CRASHED":
			return "CRASHED";
		case "TIMED_OUT":
			return "TIMED_OUT";
		default:
			return "FAILED_PERMANENT";
	}
}

/** A final transition to apply to some runs. */
export interface FinishRequest {
	ids: string[];
	/** The statuses the runs must be in; others are left alone (the guard). */
	from: readonly RunStatus[];
	status: RunStatus;
	now: Date;
	output?: { bytes: Uint8Array; type: string };
	error?: TaskErrorInfo;
	/** What the running attempt becomes, if one is running. */
	attemptStatus?: AttemptStatus;
}

/**
 * Moves runs to a final status in one guarded statement, then, in the same
 * transaction: ends their running attempt, cancels their own pending waits,
 * releases the idempotency key of canceled or expired runs (so a new trigger
 * may run again), records batch outcomes in the completions outbox and resumes
 * parents that waited on them. Returns the rows it moved.
 */
export async function finishRuns(
	client: pg.PoolClient,
	request: FinishRequest,
): Promise<{ rows: (RunRow & { prev_status: RunStatus })[]; effects: Effects }> {
	const effects = noEffects();
	if (request.ids.length === 0) return { rows: [], effects };
	// The running attempts end in the same statement ($8, when given): one round trip.
	const { rows } = await client.query<RunRow & { prev_status: RunStatus }>({
		name: "scheduler-finish-runs",
		text: `WITH old AS (
			SELECT id, status AS prev_status, worker_id AS prev_worker, queue_receipt AS prev_receipt,
				queue_consumer_id AS prev_consumer, current_attempt_id AS prev_attempt
			FROM runs WHERE id = ANY($1) AND status = ANY($2) FOR UPDATE
		), ended AS (
			UPDATE attempts SET status = $8, completed_at = $4, error = COALESCE($7, error)
			WHERE $8::text IS NOT NULL AND id IN (SELECT prev_attempt FROM old) AND status = 'EXECUTING'
		)
		UPDATE runs r SET status = $3, updated_at = $4, completed_at = $4,
			output = COALESCE($5, r.output), output_type = COALESCE($6, r.output_type),
			error = COALESCE($7, r.error), worker_id = NULL, queue_receipt = NULL, queue_consumer_id = NULL,
			resume_attempt_id = NULL, expires_at = NULL, deadline_at = NULL, next_attempt_at = NULL,
			idempotency_key = CASE WHEN $3 IN ('CANCELED', 'EXPIRED') THEN NULL ELSE r.idempotency_key END
		FROM old WHERE r.id = old.id
		RETURNING r.*, old.prev_status, old.prev_receipt AS queue_receipt, old.prev_consumer AS queue_consumer_id`,
		values: [
			request.ids,
			request.from,
			request.status,
			request.now,
			request.output === undefined ? null : Buffer.from(request.output.bytes),
			request.output?.type ?? null,
			request.error === undefined ? null : JSON.stringify(request.error),
			request.attemptStatus ?? null,
		],
	});
	if (rows.length === 0) return { rows, effects };
	const ids = rows.map((r) => r.id);
	// Only a WAITING run owns a pending wait; skip the statement on the hot path of completions.
	const waitingIds = rows.filter((r) => r.prev_status === "WAITING").map((r) => r.id);
	if (waitingIds.length > 0) {
		await client.query(
			`UPDATE waits SET status = 'CANCELED', resolved_at = $2 WHERE run_id = ANY($1) AND status = 'PENDING'`,
			[waitingIds, request.now],
		);
	}
	if (rows.some((r) => r.batch_id !== null))
		await client.query(
			`INSERT INTO run_completions (run_id, environment_id, batch_id, batch_index, status, completed_at)
		 SELECT id, environment_id, batch_id, batch_index, status, completed_at FROM runs
		 WHERE id = ANY($1) AND batch_id IS NOT NULL
		 ON CONFLICT (run_id) DO NOTHING`,
			[ids],
		);
	if (rows.some((r) => r.batch_id !== null)) effects.changedWaits.push(COMPLETIONS_TOPIC);
	for (const row of rows) {
		effects.changedRuns.push(row.id);
		if (row.prev_status === "EXECUTING" && row.queue_receipt !== null && row.queue_consumer_id !== null) {
			effects.settle.push({
				kind: "ack",
				consumerId: row.queue_consumer_id,
				receipt: row.queue_receipt,
				outcome: outcomeOf(row.status),
				detail: `run ${row.id} ${row.status.toLowerCase()}`,
			});
		}
	}
	const waiting = await client.query<{ id: string; child_run_id: string }>(
		`SELECT id, child_run_id FROM waits WHERE child_run_id = ANY($1) AND status = 'PENDING' FOR UPDATE`,
		[ids],
	);
	for (const wait of waiting.rows) {
		const child = rows.find((r) => r.id === wait.child_run_id) as RunRow;
		const resumed = await resolveWait(client, wait.id, [waitResultOf(child)], null, request.now);
		addEffects(effects, resumed);
	}
	return { rows, effects };
}

/**
 * Resolves a pending wait (guarded: PENDING -> RESOLVED) and, if that resolved
 * it, queues the waiting run's continuation. Returns no effects when the wait
 * was already resolved, so a parent resumes exactly once.
 */
export async function resolveWait(
	client: pg.PoolClient,
	waitId: string,
	results: unknown[],
	error: TaskErrorInfo | null,
	now: Date,
): Promise<Effects & { resolved: boolean }> {
	const effects = { ...noEffects(), resolved: false };
	const { rows } = await client.query<{ run_id: string }>(
		`UPDATE waits SET status = 'RESOLVED', resolved_at = $2, results = $3, error = $4
		 WHERE id = $1 AND status = 'PENDING' RETURNING run_id`,
		[waitId, now, JSON.stringify(results), error === null ? null : JSON.stringify(error)],
	);
	const wait = rows[0];
	if (wait === undefined) return effects;
	effects.resolved = true;
	effects.changedWaits.push(waitId);
	const resumed = await client.query<RunRow>(
		`UPDATE runs SET status = 'QUEUED', updated_at = $2, queued_at = $2, queue_seq = queue_seq + 1,
			resume_attempt_id = current_attempt_id
		 WHERE id = $1 AND status = 'WAITING' RETURNING *`,
		[wait.run_id, now],
	);
	for (const row of resumed.rows) {
		effects.enqueue.push(messageFor(row));
		effects.changedRuns.push(row.id);
	}
	return effects;
}

/** Moves due runs (DELAYED or REATTEMPTING) to QUEUED and returns their messages. */
export async function queueDueRuns(
	client: pg.PoolClient | pg.Pool,
	from: "DELAYED" | "REATTEMPTING",
	now: Date,
	limit: number,
): Promise<Effects> {
	const column = from === "DELAYED" ? "delay_until" : "next_attempt_at";
	const { rows } = await client.query<RunRow>(
		`UPDATE runs SET status = 'QUEUED', updated_at = $1, queued_at = $1, queue_seq = queue_seq + 1,
			next_attempt_at = NULL,
			expires_at = CASE WHEN ttl_ms IS NOT NULL AND attempt_count = 0
				THEN $1 + ttl_ms * interval '1 millisecond' END
		 WHERE id IN (SELECT id FROM runs WHERE status = '${from}' AND ${column} <= $1
			ORDER BY ${column} LIMIT $2 FOR UPDATE SKIP LOCKED)
		   AND status = '${from}'
		 RETURNING *`,
		[now, limit],
	);
	const effects = noEffects();
	for (const row of rows) {
		effects.enqueue.push(messageFor(row));
		effects.changedRuns.push(row.id);
	}
	return effects;
}
