import type pg from "pg";
import { ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import { retryDelayMs } from "./retry-delay.js";
import type { Settlement } from "./run-queue.js";
import { type AttemptRow, attemptFromRow, type RunRow, runFromRow } from "./run-rows.js";
import { finishRuns, outcomeOf } from "./run-transitions.js";
import type { AttemptRecord, RunRecord, TaskErrorInfo, WaitRecord } from "./run-types.js";
import { isFinal } from "./run-types.js";
import { applyEffects, inTransaction, noEffects, type SchedulerContext } from "./scheduler-context.js";
import {
	START_NEW_SQL,
	START_READ_SQL,
	START_RESUME_SQL,
	type StartedAttemptColumns,
	type StartRow,
} from "./start-sql.js";
import { RunWaits } from "./waits.js";

/** A worker's claim on a delivered run. */
export interface StartRequest {
	workerId: string;
	runId: string;
	receipt: string;
	consumerId: string;
}

/** What a worker gets back from a start. */
export interface StartedAttempt {
	run: RunRecord;
	attempt: AttemptRecord;
	deadline: Date | null;
	resolvedWaits: WaitRecord[];
	resumed: boolean;
}

/** How an attempt ended, as its worker reports it. */
export type AttemptResult = { output: Uint8Array; outputType: string } | { error: TaskErrorInfo };

/** What CompleteAttempt's locking read returns. */
type CompleteRow = Pick<
	RunRow,
	"id" | "status" | "current_attempt_id" | "attempt_count" | "options" | "queue_receipt" | "queue_consumer_id"
> & { attempt_status: string; attempt_worker: string };

/** A refusal that also says how the scheduler settled the delivery. */
class Refusal {
	constructor(
		readonly error: ServiceError,
		readonly settlement: "nack" | "ack",
	) {}
}

/** Starting and completing attempts: the worker side of the run lifecycle. */
export class AttemptLifecycle {
	private readonly waits: RunWaits;

	constructor(private readonly ctx: SchedulerContext) {
		this.waits = new RunWaits(ctx);
	}

	/**
	 * QUEUED -> EXECUTING on this worker (guarded), if the worker runs the task and
	 * version and its free capacity fits the run's machine. A refused delivery is
	 * settled by the scheduler: nacked when another worker may take it, acknowledged
	 * when the run no longer needs it.
	 */
	async start(request: StartRequest): Promise<StartedAttempt> {
		const now = new Date(this.ctx.clock.now());
		try {
			const started = await inTransaction(this.ctx.pool, (client) => this.startIn(client, request, now));
			this.ctx.watch.notify([started.run.id]);
			return started;
		} catch (error) {
			if (!(error instanceof Refusal)) throw error;
			if (request.receipt !== "") {
				const settlement: Settlement =
					error.settlement === "nack"
						? {
								kind: "nack",
								consumerId: request.consumerId,
								receipt: request.receipt,
								detail: error.error.message,
							}
						: {
								kind: "ack",
								consumerId: request.consumerId,
								receipt: request.receipt,
								outcome: "REJECTED",
								detail: error.error.message,
							};
				await applyEffects(this.ctx, {
					...noEffects(),
					settle: [await this.refinedAck(settlement, request.runId)],
				});
			}
			throw error.error;
		}
	}

	private async startIn(client: pg.PoolClient, request: StartRequest, now: Date): Promise<StartedAttempt> {
		// One read locks the run and brings the worker and, for an unlocked run, the
		// current deployment version along, instead of three round trips.
		const found = await client.query<StartRow>({
			name: "scheduler-start-read",
			text: START_READ_SQL,
			values: [request.runId, request.workerId],
		});
		const run = found.rows[0];
		if (run === undefined) throw new Refusal(ServiceError.notFound("run", request.runId), "ack");
		if (run.status !== "QUEUED") {
			throw new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`run_id: run "${run.id}" is ${run.status}, not QUEUED; drop this delivery`,
				),
				"ack",
			);
		}
		if (!run.w_found || run.w_dead_at !== null) {
			throw new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker "${request.workerId}" is not registered or was presumed dead; register again`,
				),
				"nack",
			);
		}
		const worker = {
			cpu: run.w_cpu as number,
			memory_gb: run.w_memory_gb as number,
			deployment_version: run.w_deployment_version as string,
		};
		if (run.w_environment_id !== run.environment_id || !(run.w_task_ids ?? []).includes(run.task_id)) {
			throw new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker "${request.workerId}" does not run task "${run.task_id}" of environment "${run.environment_id}"`,
				),
				"nack",
			);
		}
		// An unlocked run is locked to the current deployment when it first starts.
		const version = run.deployment_version !== "" ? run.deployment_version : (run.current_version ?? "");
		if (worker.deployment_version !== version) {
			throw new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker runs version "${worker.deployment_version}" but run "${run.id}" needs version "${version}"`,
				),
				"nack",
			);
		}
		const resumed = run.resume_attempt_id !== null;
		const deadline =
			run.options.maxDurationMs > 0 ? new Date(now.getTime() + run.options.maxDurationMs) : null;
		// The attempt write, the guarded QUEUED -> EXECUTING update and the placement
		// check go in one statement; the check takes the per-worker lock and sums after
		// it (see migration 005), so concurrent starts on one worker cannot over-commit it.
		const written = await client.query<RunRow & StartedAttemptColumns>({
			name: resumed ? "scheduler-start-resume" : "scheduler-start-new",
			text: resumed ? START_RESUME_SQL : START_NEW_SQL,
			values: [
				run.id,
				now,
				request.workerId,
				resumed ? run.resume_attempt_id : newId("attempt", now.getTime()),
				deadline,
				request.receipt || null,
				request.receipt ? request.consumerId : null,
				version,
				...(resumed ? [] : [run.attempt_count + 1]),
			],
		});
		const row = written.rows[0];
		if (row === undefined) throw new Error(`run "${run.id}" left QUEUED while locked`);
		const u = { cpu: row.placed_cpu + run.cpu, memory_gb: row.placed_memory_gb + run.memory_gb };
		// A tiny epsilon keeps sums of quarter-cores from refusing an exact fit.
		if (u.cpu > worker.cpu + 1e-9 || u.memory_gb > worker.memory_gb + 1e-9) {
			throw new Refusal(
				new ServiceError(
					"RESOURCE_EXHAUSTED",
					`worker_id: worker "${request.workerId}" has ${fmt(worker.cpu - u.cpu + run.cpu)} vCPU and ${fmt(worker.memory_gb - u.memory_gb + run.memory_gb)} GB free; run "${run.id}" needs ${run.machine_name} (${run.cpu} vCPU, ${run.memory_gb} GB)`,
				),
				"nack",
			);
		}
		const attempt: AttemptRow = {
			id: row.a_id,
			run_id: row.a_run_id,
			number: row.a_number,
			status: row.a_status,
			worker_id: row.a_worker_id,
			started_at: row.a_started_at,
			completed_at: row.a_completed_at,
			error: row.a_error,
		};
		const resolvedWaits = resumed ? await this.waits.resolvedFor(client, attempt.id) : [];
		return { run: runFromRow(row), attempt: attemptFromRow(attempt), deadline, resolvedWaits, resumed };
	}

	/** The ack reason of a refused delivery: a final run's own outcome, else REJECTED. */
	private async refinedAck(settlement: Settlement, runId: string): Promise<Settlement> {
		if (settlement.kind !== "ack") return settlement;
		const { rows } = await this.ctx.pool.query<{ status: RunRow["status"] }>(
			"SELECT status FROM runs WHERE id = $1",
			[runId],
		);
		const status = rows[0]?.status;
		return status !== undefined && isFinal(status)
			? { ...settlement, outcome: outcomeOf(status) }
			: settlement;
	}

	/**
	 * Records an attempt's end. An output completes the run; a retryable error with
	 * attempts left moves it to REATTEMPTING until the backoff delay has passed (the
	 * maintenance loop then queues the next attempt); any other error fails it.
	 */
	async complete(
		workerId: string,
		attemptId: string,
		result: AttemptResult,
	): Promise<{ run: RunRecord; retryAt: Date | null }> {
		const now = new Date(this.ctx.clock.now());
		const outcome = await inTransaction(this.ctx.pool, async (client) => {
			// Only the columns the checks need: the response comes from the final update's row.
			const found = await client.query<CompleteRow>({
				name: "scheduler-complete-read",
				text: `SELECT r.id, r.status, r.current_attempt_id, r.attempt_count, r.options, r.queue_receipt,
					r.queue_consumer_id, a.status AS attempt_status, a.worker_id AS attempt_worker
				 FROM attempts a JOIN runs r ON r.id = a.run_id WHERE a.id = $1 FOR UPDATE OF r`,
				values: [attemptId],
			});
			const run = found.rows[0];
			if (run === undefined) throw ServiceError.notFound("attempt", attemptId);
			if (
				run.attempt_status !== "EXECUTING" ||
				run.status !== "EXECUTING" ||
				run.current_attempt_id !== attemptId
			) {
				throw new ServiceError(
					"FAILED_PRECONDITION",
					`attempt_id: attempt "${attemptId}" is not running (attempt ${run.attempt_status}, run ${run.status})`,
				);
			}
			if (run.attempt_worker !== workerId) {
				throw new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: attempt "${attemptId}" runs on worker "${run.attempt_worker}", not "${workerId}"`,
				);
			}
			if ("output" in result) {
				const done = await finishRuns(client, {
					ids: [run.id],
					from: ["EXECUTING"],
					status: "COMPLETED",
					now,
					output: { bytes: result.output, type: result.outputType || "application/json" },
					attemptStatus: "COMPLETED",
				});
				return { row: done.rows[0] as RunRow, effects: done.effects, retryAt: null };
			}
			if (result.error.retryable && run.attempt_count < run.options.retry.maxAttempts) {
				const retryAt = new Date(
					now.getTime() + retryDelayMs(run.options.retry, run.attempt_count, this.ctx.random),
				);
				// The attempt fails in the same statement as the guarded run update.
				const updated = await client.query<RunRow>({
					name: "scheduler-complete-reattempt",
					text: `WITH ended AS (
						UPDATE attempts SET status = 'FAILED', completed_at = $2, error = $3 WHERE id = $5
					)
					UPDATE runs SET status = 'REATTEMPTING', updated_at = $2, error = $3, next_attempt_at = $4,
						worker_id = NULL, queue_receipt = NULL, queue_consumer_id = NULL, deadline_at = NULL
					 WHERE id = $1 AND status = 'EXECUTING' RETURNING *`,
					values: [run.id, now, JSON.stringify(result.error), retryAt, attemptId],
				});
				const effects = noEffects();
				effects.changedRuns.push(run.id);
				if (run.queue_receipt !== null && run.queue_consumer_id !== null) {
					effects.settle.push({
						kind: "ack",
						consumerId: run.queue_consumer_id,
						receipt: run.queue_receipt,
						outcome: "FAILED_WILL_RETRY",
						detail: `attempt ${run.attempt_count} failed; next at ${retryAt.toISOString()}`,
					});
				}
				return { row: updated.rows[0] as RunRow, effects, retryAt };
			}
			const done = await finishRuns(client, {
				ids: [run.id],
				from: ["EXECUTING"],
				status: "FAILED",
				now,
				error: result.error,
				attemptStatus: "FAILED",
			});
			return { row: done.rows[0] as RunRow, effects: done.effects, retryAt: null };
		});
		await applyEffects(this.ctx, outcome.effects);
		return { run: runFromRow(outcome.row), retryAt: outcome.retryAt };
	}
}

function fmt(n: number): string {
	return String(Math.round(n * 1000) / 1000);
}
