import type pg from "pg";
import { ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import { resolvedWaitMaxBytes, storedResultsBytes } from "./resolved-waits.js";
import { type RunRow, type StoredWaitResult, type WaitRow, waitFromRow, waitResultOf } from "./run-rows.js";
import { finishRuns, resolveWait } from "./run-transitions.js";
import type { TaskErrorInfo, WaitRecord } from "./run-types.js";
import { isFinal } from "./run-types.js";
import { sleepOrWake } from "./run-watch.js";
import {
	addEffects,
	applyEffects,
	type Effects,
	inTransaction,
	noEffects,
	type SchedulerContext,
} from "./scheduler-context.js";

/** The page that explains why parallel waits are refused. */
export const PARALLEL_WAITS_HELP_URL = "https://taskmesh.dev/docs/waits#parallel-waits";

/** What a wait is for. */
export type WaitTarget = { childRunId: string } | { batchId: string } | { resumeAt: Date };

/** Thrown inside a transaction when the attempt already has a pending wait. */
export class ConcurrentWaitDetected extends Error {
	constructor(
		readonly runId: string,
		readonly attemptId: string,
	) {
		super("concurrent wait");
	}
}

/**
 * Locks the run and checks that `attemptId` is its running attempt and has no
 * pending wait. Throws ConcurrentWaitDetected when one is pending.
 */
export async function lockAttemptForWait(
	client: pg.PoolClient,
	runId: string,
	attemptId: string,
	environmentId?: string,
): Promise<RunRow> {
	// With an environment, a run of another one is "not found": tenants never learn of each other's runs.
	const { rows } =
		environmentId === undefined
			? await client.query<RunRow>("SELECT * FROM runs WHERE id = $1 FOR UPDATE", [runId])
			: await client.query<RunRow>("SELECT * FROM runs WHERE id = $1 AND environment_id = $2 FOR UPDATE", [
					runId,
					environmentId,
				]);
	const run = rows[0];
	if (run === undefined) throw ServiceError.notFound("run", runId);
	if (run.current_attempt_id !== attemptId) {
		throw new ServiceError(
			"FAILED_PRECONDITION",
			`attempt_id: "${attemptId}" is not the current attempt of run "${runId}"`,
		);
	}
	const pending = await client.query("SELECT 1 FROM waits WHERE attempt_id = $1 AND status = 'PENDING'", [
		attemptId,
	]);
	if (pending.rowCount !== 0) throw new ConcurrentWaitDetected(runId, attemptId);
	if (run.status !== "EXECUTING") {
		throw new ServiceError(
			"FAILED_PRECONDITION",
			`run_id: run "${runId}" is ${run.status}; only an EXECUTING run can begin a wait`,
		);
	}
	return run;
}

/**
 * Records a pending wait and suspends the run: WAITING, off its worker, and its
 * queue delivery acknowledged so the queue's concurrency slot is free while it
 * waits (how a parent and its child share a concurrency-1 queue).
 */
export async function suspendForWait(
	client: pg.PoolClient,
	run: RunRow,
	target: WaitTarget,
	now: Date,
): Promise<{ wait: WaitRow; effects: Effects }> {
	const effects = noEffects();
	const id = newId("wait", now.getTime());
	const { rows } = await client.query<WaitRow>(
		`INSERT INTO waits (id, run_id, attempt_id, status, child_run_id, batch_id, resume_at, created_at)
		 VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7) RETURNING *`,
		[
			id,
			run.id,
			run.current_attempt_id,
			"childRunId" in target ? target.childRunId : null,
			"batchId" in target ? target.batchId : null,
			"resumeAt" in target ? target.resumeAt : null,
			now,
		],
	);
	await client.query(
		`UPDATE runs SET status = 'WAITING', updated_at = $2, worker_id = NULL, queue_receipt = NULL,
			queue_consumer_id = NULL, deadline_at = NULL WHERE id = $1 AND status = 'EXECUTING'`,
		[run.id, now],
	);
	if (run.queue_receipt !== null && run.queue_consumer_id !== null) {
		effects.settle.push({
			kind: "ack",
			consumerId: run.queue_consumer_id,
			receipt: run.queue_receipt,
			outcome: "COMPLETED",
			detail: `run ${run.id} suspended for wait ${id}`,
		});
	}
	effects.changedRuns.push(run.id);
	return { wait: rows[0] as WaitRow, effects };
}

/**
 * Refuses a wait on a child run that can never resume this run: one of its
 * ancestors (a parent typically waits for its children, or is canceled with them:
 * a run that waited for its own waiting parent stayed WAITING forever, and so did
 * the parent), or a run already waiting, through its own chain of pending waits,
 * for this run. Nothing is written before it; FAILED_PRECONDITION naming child_run_id.
 */
async function refuseWaitCycle(client: pg.PoolClient, runId: string, childRunId: string): Promise<void> {
	const { rows } = await client.query<{ ancestor: boolean; waits_for_us: boolean }>(
		`WITH RECURSIVE ancestors AS (
			SELECT parent_run_id AS id FROM runs WHERE id = $1
			UNION SELECT r.parent_run_id FROM runs r JOIN ancestors a ON r.id = a.id
		), waited AS (
			SELECT child_run_id AS id FROM waits WHERE run_id = $2 AND status = 'PENDING' AND child_run_id IS NOT NULL
			UNION SELECT w.child_run_id FROM waits w JOIN waited ON w.run_id = waited.id
			WHERE w.status = 'PENDING' AND w.child_run_id IS NOT NULL
		)
		SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = $2) AS ancestor,
			EXISTS (SELECT 1 FROM waited WHERE id = $1) AS waits_for_us`,
		[runId, childRunId],
	);
	const found = rows[0];
	if (found?.ancestor === true) {
		throw new ServiceError(
			"FAILED_PRECONDITION",
			`child_run_id: run "${childRunId}" is an ancestor of run "${runId}"; a run cannot wait for its parent or an ancestor, which would never resume it once it waits for its children`,
		);
	}
	if (found?.waits_for_us === true) {
		throw new ServiceError(
			"FAILED_PRECONDITION",
			`child_run_id: run "${childRunId}" is itself waiting, through its pending waits, for run "${runId}"; both would wait forever`,
		);
	}
}

/** Waits: begin, resolve from outside, follow, and the concurrent-wait rule. */
export class RunWaits {
	constructor(private readonly ctx: SchedulerContext) {}

	/** Begins a wait for a running attempt; a child already final resolves it at once. */
	async begin(
		runId: string,
		attemptId: string,
		target: WaitTarget,
	): Promise<{ wait: WaitRecord; released: boolean }> {
		const now = new Date(this.ctx.clock.now());
		if ("childRunId" in target && target.childRunId === runId) {
			throw ServiceError.invalidField("child_run_id", `run "${runId}" cannot wait for itself`);
		}
		try {
			const { wait, effects } = await inTransaction(this.ctx.pool, async (client) => {
				const run = await lockAttemptForWait(client, runId, attemptId);
				let child: RunRow | undefined;
				if ("childRunId" in target) {
					// FOR SHARE orders this against the child's final update: if the child is
					// finishing now we read its final state after it commits; if we lock first,
					// its finish waits for this wait to commit and then sees it. Without the
					// lock a child finishing at this moment could miss the wait, and the parent
					// would never resume.
					const found = await client.query<RunRow>(
						"SELECT * FROM runs WHERE id = $1 AND environment_id = $2 FOR SHARE",
						[target.childRunId, run.environment_id],
					);
					child = found.rows[0];
					if (child === undefined) throw ServiceError.notFound("child run", target.childRunId);
					await refuseWaitCycle(client, runId, target.childRunId);
				}
				const suspended = await suspendForWait(client, run, target, now);
				if (child !== undefined && isFinal(child.status)) {
					addEffects(
						suspended.effects,
						await resolveWait(client, suspended.wait.id, [waitResultOf(child)], null, now),
					);
					// The answer says it is resolved already (resolved_at), as it is.
					const resolved = await client.query<WaitRow>("SELECT * FROM waits WHERE id = $1", [
						suspended.wait.id,
					]);
					return { ...suspended, wait: resolved.rows[0] as WaitRow };
				}
				return suspended;
			});
			await applyEffects(this.ctx, effects);
			return { wait: waitFromRow(wait), released: effects.settle.length > 0 };
		} catch (error) {
			if (error instanceof ConcurrentWaitDetected) throw await this.failConcurrentWait(error);
			throw error;
		}
	}

	/**
	 * Fails the attempt and its run for a concurrent wait, without retry, and returns
	 * the error the caller gets.
	 */
	async failConcurrentWait(detected: ConcurrentWaitDetected): Promise<ServiceError> {
		const message =
			"a second wait was started while one is pending in the same attempt; parallel waits (for example Promise.all around triggerAndWait or wait.for) are not supported — await each wait in turn, or use batchTriggerAndWait";
		const error: TaskErrorInfo = {
			name: "ConcurrentWaitError",
			message,
			stackTrace: "",
			code: "TASK_DID_CONCURRENT_WAIT",
			retryable: false,
		};
		const now = new Date(this.ctx.clock.now());
		const { effects } = await inTransaction(this.ctx.pool, (client) =>
			finishRuns(client, {
				ids: [detected.runId],
				from: ["EXECUTING", "WAITING"],
				status: "FAILED",
				now,
				error,
				attemptStatus: "FAILED",
			}),
		);
		await applyEffects(this.ctx, effects);
		return new ServiceError("FAILED_PRECONDITION", message, {
			reason: "TASK_DID_CONCURRENT_WAIT",
			helpUrl: PARALLEL_WAITS_HELP_URL,
			metadata: { run_id: detected.runId, attempt_id: detected.attemptId },
		});
	}

	/**
	 * Resolves a wait from outside (a batch); false when it was not pending. Results
	 * its run's next StartAttempt could not carry are refused, and the wait stays
	 * pending: the caller resolves it with an error instead, never leaving a run
	 * whose resume can never be delivered.
	 */
	async resolve(waitId: string, results: StoredWaitResult[], error: TaskErrorInfo | null): Promise<boolean> {
		const now = new Date(this.ctx.clock.now());
		const exists = await this.ctx.pool.query("SELECT 1 FROM waits WHERE id = $1", [waitId]);
		if (exists.rowCount === 0) throw ServiceError.notFound("wait", waitId);
		const limit = resolvedWaitMaxBytes(this.ctx.limits);
		const bytes = storedResultsBytes(results);
		if (bytes > limit) {
			throw new ServiceError(
				"RESOURCE_EXHAUSTED",
				`results: ${results.length} results of ${bytes} bytes are over the ${limit} bytes one wait carries into its run's next StartAttempt (SCHEDULER_MAX_OUTPUT_BYTES + SCHEDULER_RESOLVED_WAITS_INLINE_BYTES); resolve the wait with an error and let the run read the results itself`,
			);
		}
		const effects = await inTransaction(this.ctx.pool, (client) =>
			resolveWait(client, waitId, results, error, now),
		);
		await applyEffects(this.ctx, effects);
		return effects.resolved;
	}

	/** Resolves time waits that are due and queues their runs. */
	async resolveDueTimeWaits(limit: number): Promise<number> {
		const now = new Date(this.ctx.clock.now());
		const due = await this.ctx.pool.query<{ id: string }>(
			"SELECT id FROM waits WHERE status = 'PENDING' AND resume_at <= $1 ORDER BY resume_at LIMIT $2",
			[now, limit],
		);
		const effects = noEffects();
		for (const { id } of due.rows) {
			addEffects(
				effects,
				await inTransaction(this.ctx.pool, (client) => resolveWait(client, id, [], null, now)),
			);
		}
		await applyEffects(this.ctx, effects);
		return due.rows.length;
	}

	/**
	 * Yields the wait once it is resolved, polling as a fallback. A canceled wait (its
	 * run ended while it waited) never resumes: FAILED_PRECONDITION says so, where it
	 * used to be answered like a resolved wait with no results.
	 */
	async *follow(waitId: string, pollMs: number, signal: AbortSignal): AsyncGenerator<WaitRecord> {
		while (!signal.aborted) {
			const { rows } = await this.ctx.pool.query<WaitRow & { run_status: string }>(
				"SELECT w.*, r.status AS run_status FROM waits w JOIN runs r ON r.id = w.run_id WHERE w.id = $1",
				[waitId],
			);
			const row = rows[0];
			if (row === undefined) throw ServiceError.notFound("wait", waitId);
			if (row.status === "CANCELED") {
				throw new ServiceError(
					"FAILED_PRECONDITION",
					`wait_id: wait "${waitId}" was canceled: its run "${row.run_id}" ended (${row.run_status}) while it waited, so it will never resume`,
				);
			}
			if (row.status !== "PENDING") {
				yield waitFromRow(row);
				return;
			}
			await sleepOrWake(this.ctx.watch, waitId, pollMs, signal);
		}
	}
}
