import { ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import type { RunRow } from "./run-rows.js";
import { messageFor } from "./run-rows.js";
import { finishRuns, outcomeOf } from "./run-transitions.js";
import {
	addEffects,
	applyEffects,
	inTransaction,
	noEffects,
	type SchedulerContext,
} from "./scheduler-context.js";
import { storeTasks, type TaskDefinition } from "./task-catalog.js";
import { checkTaskDefinitions } from "./task-definition-rules.js";

/**
 * Far above any machine (the largest clouds rent have under a thousand vCPUs and tens
 * of TiB), so a large round number meant as "no limit" still fits, yet finite: an
 * Infinity or 1e308 capacity was taken, and placement sums with it mean nothing.
 */
export const MAX_WORKER_CPU = 1_000_000;
export const MAX_WORKER_MEMORY_GB = 1_000_000;

function checkCapacity(field: string, value: number, max: number): void {
	if (!(value > 0 && value <= max))
		throw ServiceError.invalidField(field, `must be greater than 0 and at most ${max}, got ${value}`);
}

/** A worker as the core returns it. */
export interface WorkerRecord {
	id: string;
	environmentId: string;
	deploymentVersion: string;
	taskIds: string[];
	capacity: { cpu: number; memoryGb: number };
	allocated: { cpu: number; memoryGb: number };
	lastHeartbeatAt: Date;
}

/** Worker registration, heartbeats, and re-queueing the runs of workers that went silent. */
export class WorkerRegistry {
	constructor(private readonly ctx: SchedulerContext) {}

	/**
	 * Records a worker and the tasks it declares (under its deployment version, ""
	 * in development). Registering again with the same id replaces the record.
	 */
	async register(input: {
		environmentId: string;
		workerId: string;
		deploymentVersion: string;
		tasks: TaskDefinition[];
		cpu: number;
		memoryGb: number;
	}): Promise<WorkerRecord> {
		if (input.environmentId === "") throw ServiceError.invalidField("environment_id", "is required");
		checkCapacity("capacity.cpu", input.cpu, MAX_WORKER_CPU);
		checkCapacity("capacity.memory_gb", input.memoryGb, MAX_WORKER_MEMORY_GB);
		if (input.tasks.length === 0) throw ServiceError.invalidField("tasks", "at least one task is required");
		const now = new Date(this.ctx.clock.now());
		checkTaskDefinitions(input.tasks, now);
		const id = input.workerId || newId("worker", now.getTime());
		await inTransaction(this.ctx.pool, async (client) => {
			await client.query(
				`INSERT INTO workers (id, environment_id, deployment_version, task_ids, cpu, memory_gb, registered_at, last_heartbeat_at)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
				 ON CONFLICT (id) DO UPDATE SET environment_id = $2, deployment_version = $3, task_ids = $4, cpu = $5,
					memory_gb = $6, registered_at = $7, last_heartbeat_at = $7, dead_at = NULL`,
				[
					id,
					input.environmentId,
					input.deploymentVersion,
					input.tasks.map((t) => t.id),
					input.cpu,
					input.memoryGb,
					now,
				],
			);
			// A deployed worker's tasks come from its deployment; a development worker declares them.
			if (input.deploymentVersion === "") await storeTasks(client, input.environmentId, "", input.tasks);
		});
		return this.get(id);
	}

	/** One worker with what its executing runs use now. */
	async get(workerId: string): Promise<WorkerRecord> {
		const { rows } = await this.ctx.pool.query<{
			id: string;
			environment_id: string;
			deployment_version: string;
			task_ids: string[];
			cpu: number;
			memory_gb: number;
			last_heartbeat_at: Date;
			used_cpu: number;
			used_memory: number;
		}>(
			`SELECT w.*, COALESCE(u.cpu, 0)::float8 AS used_cpu, COALESCE(u.mem, 0)::float8 AS used_memory FROM workers w
			 LEFT JOIN LATERAL (SELECT sum(cpu) AS cpu, sum(memory_gb) AS mem FROM runs
				WHERE worker_id = w.id AND status = 'EXECUTING') u ON true
			 WHERE w.id = $1`,
			[workerId],
		);
		const w = rows[0];
		if (w === undefined) throw ServiceError.notFound("worker", workerId);
		return {
			id: w.id,
			environmentId: w.environment_id,
			deploymentVersion: w.deployment_version,
			taskIds: w.task_ids,
			capacity: { cpu: w.cpu, memoryGb: w.memory_gb },
			allocated: { cpu: w.used_cpu, memoryGb: w.used_memory },
			lastHeartbeatAt: w.last_heartbeat_at,
		};
	}

	/** Records a heartbeat; returns the listed attempts the worker must stop. */
	async heartbeat(workerId: string, attemptIds: string[]): Promise<string[]> {
		const now = new Date(this.ctx.clock.now());
		const updated = await this.ctx.pool.query(
			"UPDATE workers SET last_heartbeat_at = $2 WHERE id = $1 AND dead_at IS NULL",
			[workerId, now],
		);
		if (updated.rowCount === 0) {
			throw new ServiceError(
				"FAILED_PRECONDITION",
				`worker_id: worker "${workerId}" is not registered or was presumed dead; stop its attempts and register again`,
			);
		}
		if (attemptIds.length === 0) return [];
		const { rows } = await this.ctx.pool.query<{ id: string }>(
			"SELECT id FROM attempts WHERE id = ANY($1) AND (status <> 'EXECUTING' OR worker_id <> $2)",
			[attemptIds, workerId],
		);
		return rows.map((r) => r.id);
	}

	/**
	 * Workers silent for three heartbeat intervals are presumed dead: each attempt
	 * they ran is CRASHED and its run is queued again for the next attempt (or
	 * CRASHED for good when no attempts are left). Returns the runs it moved.
	 */
	async reapSilentWorkers(): Promise<string[]> {
		const now = new Date(this.ctx.clock.now());
		const cutoff = new Date(now.getTime() - 3 * this.ctx.limits.heartbeatIntervalMs);
		const effects = noEffects();
		// Marking the workers dead and moving their runs is one transaction, so a failure
		// leaves both for the next pass instead of runs stranded on a dead worker.
		const { deadIds, moved } = await inTransaction(this.ctx.pool, async (client) => {
			const dead = await client.query<{ id: string }>(
				"UPDATE workers SET dead_at = $2 WHERE dead_at IS NULL AND last_heartbeat_at < $1 RETURNING id",
				[cutoff, now],
			);
			const deadIds = dead.rows.map((r) => r.id);
			if (deadIds.length === 0) return { deadIds, moved: [] as string[] };
			const crash = {
				name: "WorkerCrashed",
				message: "the worker stopped heartbeating",
				stackTrace: "",
				code: "WORKER_CRASHED",
				retryable: true,
			};
			const runs = await client.query<RunRow>(
				"SELECT * FROM runs WHERE worker_id = ANY($1) AND status = 'EXECUTING' FOR UPDATE",
				[deadIds],
			);
			await client.query(
				`UPDATE attempts SET status = 'CRASHED', completed_at = $2, error = $3
				 WHERE id IN (SELECT current_attempt_id FROM runs WHERE id = ANY($1)) AND status = 'EXECUTING'`,
				[runs.rows.map((r) => r.id), now, JSON.stringify(crash)],
			);
			const retry = runs.rows.filter((r) => r.attempt_count < r.max_attempts).map((r) => r.id);
			const final = runs.rows.filter((r) => r.attempt_count >= r.max_attempts).map((r) => r.id);
			const requeued = await client.query<RunRow>(
				`UPDATE runs SET status = 'QUEUED', updated_at = $2, queued_at = $2, queue_seq = queue_seq + 1,
					worker_id = NULL, queue_receipt = NULL, queue_consumer_id = NULL, deadline_at = NULL, error = $3
				 WHERE id = ANY($1) AND status = 'EXECUTING' RETURNING *`,
				[retry, now, JSON.stringify(crash)],
			);
			for (const row of requeued.rows) {
				effects.enqueue.push(messageFor(row));
				effects.changedRuns.push(row.id);
			}
			const done = await finishRuns(client, {
				ids: final,
				from: ["EXECUTING"],
				status: "CRASHED",
				now,
				error: crash,
			});
			addEffects(effects, done.effects);
			for (const row of runs.rows) {
				// The dead worker cannot settle its deliveries; the scheduler does, so the queue frees their slots.
				if (row.queue_receipt !== null && row.queue_consumer_id !== null && retry.includes(row.id)) {
					effects.settle.push({
						kind: "ack",
						consumerId: row.queue_consumer_id,
						receipt: row.queue_receipt,
						outcome: outcomeOf("CRASHED"),
						detail: `worker ${row.worker_id} stopped heartbeating`,
					});
				}
			}
			return { deadIds, moved: runs.rows.map((r) => r.id) };
		});
		await applyEffects(this.ctx, effects);
		if (moved.length > 0)
			this.ctx.logger.warn(
				{ workers: deadIds, runs: moved },
				"silent workers presumed dead; runs queued again",
			);
		return moved;
	}
}
