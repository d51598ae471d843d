import type pg from "pg";
import { isServiceError, ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import { resolveMachine } from "./machine-presets.js";
import { DEFAULT_RETRY, type RetrySettings } from "./retry-delay.js";
import { messageFor, type RunRow, runFromRow } from "./run-rows.js";
import type { RunRecord, StoredOptions, TriggerInput } from "./run-types.js";
import {
	addEffects,
	applyEffects,
	type Effects,
	inTransaction,
	noEffects,
	type SchedulerContext,
	withClient,
} from "./scheduler-context.js";
import { findTasks, type TaskDefinition, unknownTask } from "./task-catalog.js";
import { validateTrigger } from "./trigger-validation.js";
import { ConcurrentWaitDetected, lockAttemptForWait, RunWaits, suspendForWait } from "./waits.js";

/** One item of a batched trigger that was not created. */
export interface TriggerFailure {
	index: number;
	error: ServiceError;
}

const COLUMNS = [
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
] as const;

/** Creates runs: one (TriggerRun, with triggerAndWait) or many in one statement (TriggerRuns). */
export class RunTrigger {
	private readonly waits: RunWaits;

	constructor(private readonly ctx: SchedulerContext) {
		this.waits = new RunWaits(ctx);
	}

	/** Triggers one run; with parent.wait the parent starts waiting for it in the same transaction. */
	async trigger(input: TriggerInput): Promise<RunRecord> {
		validateTrigger(input, this.ctx.limits.maxPayloadBytes);
		try {
			// Without a wait the run is one INSERT; a transaction would only add round trips.
			const unit = input.parent?.wait === true ? inTransaction : withClient;
			const { run, effects } = await unit(this.ctx.pool, async (client) => {
				const parentRow =
					input.parent?.wait === true
						? await lockAttemptForWait(
								client,
								input.parent.runId,
								input.parent.attemptId,
								input.environmentId,
							)
						: undefined;
				const created = await this.insert(client, input.environmentId, [input], "");
				const failure = created.failures[0];
				if (failure !== undefined) throw failure.error;
				const run = created.runs[0] as RunRecord;
				if (parentRow !== undefined && !run.cached) {
					const suspended = await suspendForWait(
						client,
						parentRow,
						{ childRunId: run.id },
						new Date(this.ctx.clock.now()),
					);
					addEffects(created.effects, suspended.effects);
				}
				return { run, effects: created.effects };
			});
			await applyEffects(this.ctx, effects);
			return run;
		} catch (error) {
			if (error instanceof ConcurrentWaitDetected) throw await this.waits.failConcurrentWait(error);
			throw error;
		}
	}

	/** Triggers one run inside the caller's transaction (cron ticks); the caller applies the effects. */
	async triggerIn(client: pg.PoolClient, input: TriggerInput): Promise<{ run: RunRecord; effects: Effects }> {
		validateTrigger(input, this.ctx.limits.maxPayloadBytes);
		const created = await this.insert(client, input.environmentId, [input], "");
		const failure = created.failures[0];
		if (failure !== undefined) throw failure.error;
		return { run: created.runs[0] as RunRecord, effects: created.effects };
	}

	/**
	 * Triggers many runs of one environment in one multi-row insert and one batched
	 * enqueue. With a batch id, item i is batch index firstIndex + i and is created
	 * at most once: a repeated call returns the stored run, cached, with its real status.
	 */
	async triggerMany(
		environmentId: string,
		inputs: TriggerInput[],
		batchId: string,
		firstIndex: number,
	): Promise<{ runs: { index: number; run: RunRecord }[]; failures: TriggerFailure[] }> {
		const failures: TriggerFailure[] = [];
		const valid: { index: number; input: TriggerInput }[] = [];
		inputs.forEach((input, index) => {
			try {
				if (input.parent?.wait === true) {
					throw ServiceError.invalidField(
						`runs[${index}].parent.wait`,
						"is not supported in TriggerRuns; wait for the batch with BeginWait(batch_id)",
					);
				}
				validateTrigger(input, this.ctx.limits.maxPayloadBytes, `runs[${index}].`);
				valid.push({
					index,
					input: batchId === "" ? input : { ...input, batchId, batchIndex: firstIndex + index },
				});
			} catch (error) {
				if (!isServiceError(error)) throw error;
				failures.push({ index, error });
			}
		});
		const result = await inTransaction(this.ctx.pool, (client) =>
			this.insert(
				client,
				environmentId,
				valid.map((v) => v.input),
				"runs[]",
			),
		);
		await applyEffects(this.ctx, result.effects);
		for (const f of result.failures)
			failures.push({ index: (valid[f.index] as { index: number }).index, error: f.error });
		const runs = result.runs.flatMap((run, i) =>
			run === undefined ? [] : [{ index: (valid[i] as { index: number }).index, run }],
		);
		failures.sort((a, b) => a.index - b.index);
		return { runs, failures };
	}

	/** Inserts runs; returns them (cached when a live key or batch index already had one) in input order. */
	private async insert(
		client: pg.PoolClient,
		environmentId: string,
		inputs: TriggerInput[],
		fieldPrefix: string,
	): Promise<{ runs: (RunRecord | undefined)[]; failures: TriggerFailure[]; effects: Effects }> {
		const now = this.ctx.clock.now();
		const nowDate = new Date(now);
		const effects = noEffects();
		const failures: TriggerFailure[] = [];
		const runs: (RunRecord | undefined)[] = new Array(inputs.length).fill(undefined);
		const definitions = await this.definitions(client, environmentId, inputs);
		const parents = await this.parentRoots(client, environmentId, inputs);
		const keys = inputs.map((i) => i.options.idempotencyKey ?? "").filter((k) => k !== "");
		if (keys.length > 0) {
			// An expired key no longer guards anything; release it so the unique index lets a new run take it.
			await client.query(
				`UPDATE runs SET idempotency_key = NULL WHERE environment_id = $1 AND idempotency_key = ANY($2)
				 AND idempotency_key_expires_at <= $3`,
				[environmentId, keys, nowDate],
			);
		}
		const values: unknown[][] = [];
		const rowIndex: number[] = [];
		inputs.forEach((input, i) => {
			const field = (name: string) => (fieldPrefix === "" ? name : `runs[${i}].${name}`);
			const def = definitions.get(`${input.options.deploymentVersion ?? ""}\u0000${input.taskId}`);
			if (def === undefined) {
				failures.push({
					index: i,
					error: unknownTask(
						field("task_id"),
						environmentId,
						input.taskId,
						input.options.deploymentVersion ?? "",
					),
				});
				return;
			}
			try {
				values.push(this.rowValues(input, def, parents, now));
				rowIndex.push(i);
			} catch (error) {
				if (!isServiceError(error)) throw error;
				failures.push({ index: i, error: fieldPrefix === "" ? error : prefixed(error, `runs[${i}].`) });
			}
		});
		if (values.length > 0) {
			const params: unknown[] = [];
			const tuples = values.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(", ")})`);
			const text = `INSERT INTO runs (${COLUMNS.join(", ")}) VALUES ${tuples.join(", ")} ON CONFLICT DO NOTHING RETURNING *`;
			// A single-run insert (TriggerRun, the hot path) has one text: prepare it once per connection.
			const inserted = await client.query<RunRow>(
				values.length === 1
					? { name: "scheduler-insert-run", text, values: params }
					: { text, values: params },
			);
			const byId = new Map(inserted.rows.map((r) => [r.id, r]));
			values.forEach((row, k) => {
				const created = byId.get(row[0] as string);
				if (created === undefined) return;
				runs[rowIndex[k] as number] = runFromRow(created);
				if (created.status === "QUEUED") effects.enqueue.push(messageFor(created));
				effects.changedRuns.push(created.id);
			});
			// What did not insert collided with a live idempotency key or a stored batch index.
			for (const k of rowIndex.keys()) {
				const i = rowIndex[k] as number;
				if (runs[i] !== undefined) continue;
				const input = inputs[i] as TriggerInput;
				const existing = await client.query<RunRow>(
					`SELECT * FROM runs WHERE (batch_id = $1 AND batch_index = $2)
					 OR (environment_id = $3 AND idempotency_key = $4) LIMIT 1`,
					[
						input.batchId ?? null,
						input.batchIndex ?? null,
						environmentId,
						input.options.idempotencyKey || null,
					],
				);
				const row = existing.rows[0];
				if (row === undefined) throw new ServiceError("ABORTED", "a conflicting run disappeared; try again");
				runs[i] = runFromRow(row, true);
			}
		}
		return { runs, failures, effects };
	}

	private async definitions(client: pg.PoolClient, environmentId: string, inputs: TriggerInput[]) {
		const byVersion = new Map<string, Set<string>>();
		for (const input of inputs) {
			const version = input.options.deploymentVersion ?? "";
			const set = byVersion.get(version) ?? new Set();
			set.add(input.taskId);
			byVersion.set(version, set);
		}
		const out = new Map<string, TaskDefinition>();
		for (const [version, ids] of byVersion) {
			const found = await findTasks(client, environmentId, version, [...ids]);
			for (const [id, def] of found) out.set(`${version}\u0000${id}`, def);
		}
		return out;
	}

	/** Root run of each parent; a parent of another environment is not found (tenants never see each other). */
	private async parentRoots(
		client: pg.PoolClient,
		environmentId: string,
		inputs: TriggerInput[],
	): Promise<Map<string, string>> {
		const ids = [
			...new Set(
				inputs.flatMap((i) => (i.parent === undefined || i.parent.runId === "" ? [] : [i.parent.runId])),
			),
		];
		if (ids.length === 0) return new Map();
		const { rows } = await client.query<{ id: string; root_run_id: string }>(
			"SELECT id, root_run_id FROM runs WHERE id = ANY($1) AND environment_id = $2",
			[ids, environmentId],
		);
		return new Map(rows.map((r) => [r.id, r.root_run_id]));
	}

	private rowValues(
		input: TriggerInput,
		def: TaskDefinition,
		parents: Map<string, string>,
		now: number,
	): unknown[] {
		const o = input.options;
		const machine = resolveMachine(
			o.machine ?? def.machine,
			o.machine === undefined ? "task.machine" : "options.machine",
		);
		const retry: RetrySettings = { ...DEFAULT_RETRY, ...def.retry, ...o.retry };
		const parentRunId = input.parent?.runId ? input.parent.runId : null;
		if (parentRunId !== null && !parents.has(parentRunId))
			throw ServiceError.notFound("parent run", parentRunId);
		const id = newId("run", now);
		const delayMs = o.delayMs ?? 0;
		const delayed = delayMs > 0;
		const ttlMs = o.ttlMs ?? 0;
		const keyTtlMs = o.idempotencyKeyTtlMs || this.ctx.limits.defaultIdempotencyKeyTtlMs;
		const maxDurationMs = o.maxDurationMs ?? def.maxDurationMs ?? 0;
		const stored: StoredOptions = {
			queue: o.queue || def.queue || `task/${input.taskId}`,
			concurrencyKey: o.concurrencyKey ?? "",
			idempotencyKey: o.idempotencyKey ?? "",
			idempotencyKeyTtlMs: o.idempotencyKey ? keyTtlMs : 0,
			delayMs,
			ttlMs,
			tags: o.tags ?? [],
			retry,
			priority: o.priority ?? 0,
			maxDurationMs,
			metadata: o.metadata ?? null,
			machine: machine.name,
			deploymentVersion: o.deploymentVersion ?? "",
		};
		const date = new Date(now);
		return [
			id,
			input.environmentId,
			input.taskId,
			delayed ? "DELAYED" : "QUEUED",
			Buffer.from(input.payload),
			input.payloadType || "application/json",
			JSON.stringify(stored),
			stored.queue,
			stored.concurrencyKey,
			stored.priority,
			stored.tags,
			machine.name,
			machine.cpu,
			machine.memoryGb,
			retry.maxAttempts,
			JSON.stringify(retry),
			maxDurationMs > 0 ? maxDurationMs : null,
			ttlMs > 0 ? ttlMs : null,
			o.idempotencyKey || null,
			o.idempotencyKey ? new Date(now + keyTtlMs) : null,
			delayed ? 0 : 1,
			parentRunId,
			input.parent?.attemptId || null,
			parentRunId === null ? id : parents.get(parentRunId),
			input.batchId || null,
			input.batchId ? (input.batchIndex ?? 0) : null,
			input.replayOfRunId || null,
			stored.deploymentVersion,
			input.scheduleId || null,
			date,
			date,
			delayed ? null : date,
			delayed ? new Date(now + delayMs) : null,
			!delayed && ttlMs > 0 ? new Date(now + ttlMs) : null,
		];
	}
}

function prefixed(error: ServiceError, prefix: string): ServiceError {
	if (error.code !== "INVALID_ARGUMENT") return error;
	return ServiceError.invalidFields(
		error.fieldViolations.map((v) => ({ field: `${prefix}${v.field}`, description: v.description })),
	);
}
