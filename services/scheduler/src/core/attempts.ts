import { storableTaskError } from "../../../../packages/task-error/src/index.js";
import { packBytes, ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import { readResolvedWaits } from "./resolved-waits.js";
import { COMPLETIONS_TOPIC } from "./run-completions.js";
import type { Settlement } from "./run-queue.js";
import { type AttemptRow, attemptFromRow, messageFor, runFromRow } from "./run-rows.js";
import { outcomeOf } from "./run-transitions.js";
import type { AttemptRecord, RunRecord, RunStatus, TaskErrorInfo, WaitRecord } from "./run-types.js";
import { isFinal } from "./run-types.js";
import {
	applyEffects,
	type Effects,
	noEffects,
	type SchedulerContext,
	withClient,
} from "./scheduler-context.js";
import { COMPLETE_SQL, type CompleteRow, START_SQL, type StartRow } from "./start-sql.js";
import { TurnBatcher } from "./turn-batcher.js";

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

/** One StartAttempt call as its batch statement takes it. */
interface StartCall {
	request: StartRequest;
	now: Date;
	attemptId: string;
}

/** One CompleteAttempt call as its batch statement takes it. */
interface CompleteCall {
	workerId: string;
	attemptId: string;
	now: Date;
	output: Buffer | null;
	outputType: string | null;
	error: string | null;
	retryable: boolean;
	jitter: number;
}

/** Most calls one batch statement carries. */
const MAX_BATCH = 200;
/** Batch statements of one kind running at once (more calls wait and join the next). */
const IN_FLIGHT = 4;

/** A refusal that also says how the scheduler settles the delivery. */
class Refusal {
	constructor(
		readonly error: ServiceError,
		readonly settlement: "nack" | "ack",
	) {}
}

/**
 * Starting and completing attempts: the worker side of the run lifecycle. Each
 * call is a plpgsql function of migration 006 that keeps every guard and lock of
 * the call (see there); the calls of one event-loop turn share one autocommit
 * statement (TurnBatcher).
 */
export class AttemptLifecycle {
	private readonly starts: TurnBatcher<StartCall, StartRow>;
	private readonly completions: TurnBatcher<CompleteCall, CompleteRow>;

	constructor(private readonly ctx: SchedulerContext) {
		this.starts = new TurnBatcher((calls) => this.startBatch(calls), MAX_BATCH, IN_FLIGHT);
		this.completions = new TurnBatcher((calls) => this.completeBatch(calls), MAX_BATCH, IN_FLIGHT);
	}

	private async startBatch(calls: StartCall[]): Promise<StartRow[]> {
		// Every batch takes the per-worker placement locks in worker order, so two
		// batches that start runs on the same workers never wait on each other in a cycle.
		const order = calls.map((_, i) => i);
		order.sort((a, b) => compare(calls[a] as StartCall, calls[b] as StartCall));
		const sorted = order.map((i) => calls[i] as StartCall);
		const rows = await withClient(this.ctx.pool, async (client) => {
			const result = await client.query<StartRow>({
				name: "scheduler-start",
				text: START_SQL,
				values: [
					sorted.map((c) => c.request.runId),
					sorted.map((c) => c.request.workerId),
					sorted.map((c) => c.now),
					sorted.map((c) => c.attemptId),
					sorted.map((c) => c.request.receipt || null),
					sorted.map((c) => (c.request.receipt ? c.request.consumerId : null)),
				],
			});
			return result.rows;
		});
		const byCall: StartRow[] = new Array(calls.length);
		order.forEach((call, k) => {
			byCall[call] = rows[k] as StartRow;
		});
		return rows.length === calls.length ? byCall : rows;
	}

	private completeBatch(calls: CompleteCall[]): Promise<CompleteRow[]> {
		const outputs = packBytes(calls.map((c) => c.output));
		return withClient(this.ctx.pool, async (client) => {
			const { rows } = await client.query<CompleteRow>({
				name: "scheduler-complete",
				text: COMPLETE_SQL,
				values: [
					calls.map((c) => c.attemptId),
					calls.map((c) => c.workerId),
					calls.map((c) => c.now),
					outputs.bytes,
					calls.map((c) => c.outputType),
					calls.map((c) => c.error),
					calls.map((c) => c.retryable),
					calls.map((c) => c.jitter),
					outputs.starts,
					outputs.lengths,
				],
			});
			return rows;
		});
	}

	/**
	 * QUEUED -> EXECUTING on this worker (guarded), if the worker runs the task and
	 * version and its free capacity fits the run's machine. A refused delivery is
	 * settled by the scheduler: nacked when another worker may take it, acknowledged
	 * when the run no longer needs it.
	 */
	async start(request: StartRequest): Promise<StartedAttempt> {
		const now = new Date(this.ctx.clock.now());
		const row = await this.starts.call({ request, now, attemptId: newId("attempt", now.getTime()) });
		if (row.refusal !== null) {
			const refusal = refusalOfStart(row, request);
			if (request.receipt !== "") await this.settleRefused(refusal, request, row.status);
			throw refusal.error;
		}
		// A continuation gets the waits its attempt resolved; they no longer change.
		const resolvedWaits =
			row.resumed === true
				? await readResolvedWaits(this.ctx.pool, row.a_id, this.ctx.limits.resolvedWaitsInlineBytes)
				: [];
		this.ctx.watch.notify([row.id]);
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
		return {
			run: runFromRow(row),
			attempt: attemptFromRow(attempt),
			deadline: row.deadline_at,
			resolvedWaits,
			resumed: row.resumed === true,
		};
	}

	/**
	 * Settles a refused delivery: a nack gives it back for another worker; an ack
	 * carries a final run's own outcome (the status start_attempt read under the
	 * run's lock), else REJECTED.
	 */
	private async settleRefused(
		refusal: Refusal,
		request: StartRequest,
		status: RunStatus | null,
	): Promise<void> {
		const { consumerId, receipt } = request;
		const detail = refusal.error.message;
		const settlement: Settlement =
			refusal.settlement === "nack"
				? { kind: "nack", consumerId, receipt, detail }
				: {
						kind: "ack",
						consumerId,
						receipt,
						outcome: status !== null && isFinal(status) ? outcomeOf(status) : "REJECTED",
						detail,
					};
		await applyEffects(this.ctx, { ...noEffects(), settle: [settlement] });
	}

	/**
	 * Records an attempt's end. An output completes the run; a retryable error with
	 * attempts left moves it to REATTEMPTING until the backoff delay has passed (the
	 * maintenance loop then queues the next attempt); any other error fails it. A
	 * final run resolves the waits on it and resumes their parents, once each.
	 */
	async complete(
		workerId: string,
		attemptId: string,
		result: AttemptResult,
	): Promise<{ run: RunRecord; retryAt: Date | null }> {
		if ("output" in result) checkOutputSize(result.output, this.ctx.limits.maxOutputBytes);
		const now = new Date(this.ctx.clock.now());
		const error = "output" in result ? null : storableTaskError(result.error);
		const retryable = error?.retryable === true;
		const row = await this.completions.call({
			workerId,
			attemptId,
			now,
			output: "output" in result ? Buffer.from(result.output) : null,
			outputType: "output" in result ? result.outputType || "application/json" : null,
			error: error === null ? null : JSON.stringify(error),
			retryable,
			// r of the backoff delay (used when the run's retry settings randomize), as retryDelayMs draws it.
			jitter: retryable ? 1 + (this.ctx.random ?? Math.random)() : 1,
		});
		switch (row.refusal) {
			case "attempt_not_found":
				throw ServiceError.notFound("attempt", attemptId);
			case "attempt_not_running":
				throw new ServiceError(
					"FAILED_PRECONDITION",
					`attempt_id: attempt "${attemptId}" is not running (attempt ${row.attempt_status}, run ${row.found_status})`,
				);
			case "attempt_other_worker":
				throw new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: attempt "${attemptId}" runs on worker "${row.attempt_worker}", not "${workerId}"`,
				);
			default:
				break;
		}
		await applyEffects(this.ctx, completionEffects(row));
		return { run: runFromRow(row), retryAt: row.retry_at };
	}
}

/**
 * Refuses an output over the limit before anything is written: every answer that
 * carries the output (GetRun, WaitForRun, a parent's resume) must fit one gRPC message.
 */
function checkOutputSize(output: Uint8Array, maxOutputBytes: number): void {
	if (output.byteLength > maxOutputBytes) {
		throw ServiceError.invalidField(
			"output.output",
			`${output.byteLength} bytes is over the limit of ${maxOutputBytes} bytes (SCHEDULER_MAX_OUTPUT_BYTES)`,
		);
	}
}

/** The refusal, with its gRPC status and message, of a start that start_attempt refused. */
function refusalOfStart(row: StartRow, request: StartRequest): Refusal {
	const { workerId } = request;
	switch (row.refusal) {
		case "run_not_found":
			return new Refusal(ServiceError.notFound("run", request.runId), "ack");
		case "run_not_queued":
			return new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`run_id: run "${row.id}" is ${row.status}, not QUEUED; drop this delivery`,
				),
				"ack",
			);
		case "worker_unknown":
			return new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker "${workerId}" is not registered or was presumed dead; register again`,
				),
				"nack",
			);
		case "worker_task":
			return new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker "${workerId}" does not run task "${row.task_id}" of environment "${row.environment_id}"`,
				),
				"nack",
			);
		case "worker_version":
			return new Refusal(
				new ServiceError(
					"FAILED_PRECONDITION",
					`worker_id: worker runs version "${row.worker_version}" but run "${row.id}" needs version "${row.needed_version}"`,
				),
				"nack",
			);
		default:
			return new Refusal(
				new ServiceError(
					"RESOURCE_EXHAUSTED",
					`worker_id: worker "${workerId}" has ${fmt((row.worker_cpu ?? 0) - (row.placed_cpu ?? 0))} vCPU and ${fmt((row.worker_memory_gb ?? 0) - (row.placed_memory_gb ?? 0))} GB free; run "${row.id}" needs ${row.machine_name} (${row.cpu} vCPU, ${row.memory_gb} GB)`,
				),
				"nack",
			);
	}
}

/** What a recorded completion still does outside PostgreSQL: settle, queue resumed parents, wake watchers. */
function completionEffects(row: CompleteRow): Effects {
	const effects = noEffects();
	effects.changedRuns.push(row.id);
	if (row.prev_receipt !== null && row.prev_consumer !== null) {
		const { prev_consumer: consumerId, prev_receipt: receipt } = row;
		effects.settle.push(
			row.retry_at !== null
				? {
						kind: "ack",
						consumerId,
						receipt,
						outcome: "FAILED_WILL_RETRY",
						detail: `attempt ${row.attempt_count} failed; next at ${row.retry_at.toISOString()}`,
					}
				: {
						kind: "ack",
						consumerId,
						receipt,
						outcome: outcomeOf(row.status),
						detail: `run ${row.id} ${row.status.toLowerCase()}`,
					},
		);
	}
	// A final batch run was written to the completions outbox.
	if (row.batch_id !== null && row.retry_at === null) effects.changedWaits.push(COMPLETIONS_TOPIC);
	effects.changedWaits.push(...row.resolved_waits);
	for (const parent of row.resumed_runs) {
		effects.enqueue.push(messageFor(parent));
		effects.changedRuns.push(parent.id);
	}
	return effects;
}

/** Orders starts by worker, then run. */
function compare(a: StartCall, b: StartCall): number {
	const { workerId: wa, runId: ra } = a.request;
	const { workerId: wb, runId: rb } = b.request;
	if (wa !== wb) return wa < wb ? -1 : 1;
	return ra < rb ? -1 : ra > rb ? 1 : 0;
}

function fmt(n: number): string {
	return String(Math.round(n * 1000) / 1000);
}
