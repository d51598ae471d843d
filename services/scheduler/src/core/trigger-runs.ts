import type pg from "pg";
import { isServiceError, ServiceError } from "../../../kit/src/index.js";
import { resolveMachine } from "./machine-presets.js";
import { DEFAULT_RETRY, type RetrySettings } from "./retry-delay.js";
import { conflictingRuns, insertedRow, insertRuns, type NewRun, newRunIds } from "./run-bulk-insert.js";
import { messageFor, runFromRow } from "./run-rows.js";
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
import { type OptionsDocument, optionsDocument } from "./stored-options.js";
import { findTasks, type TaskDefinition, unknownTask } from "./task-catalog.js";
import { validateTrigger } from "./trigger-validation.js";
import { TurnBatcher } from "./turn-batcher.js";
import { ConcurrentWaitDetected, lockAttemptForWait, RunWaits, suspendForWait } from "./waits.js";

/** One item of a batched trigger that was not created. */
export interface TriggerFailure {
	index: number;
	error: ServiceError;
}

/** What one trigger of a turn's batch came to. */
type TriggerOutcome = { run: RunRecord } | { error: ServiceError };

/** Most triggers one turn's insert carries. */
const MAX_TURN_BATCH = 500;
/** Trigger batches running at once (more triggers wait and join the next). */
const TURN_IN_FLIGHT = 4;

/** Creates runs: one (TriggerRun, with triggerAndWait) or many in one statement (TriggerRuns, and the TriggerRun calls of a turn). */
export class RunTrigger {
	private readonly waits: RunWaits;

	private readonly turn: TurnBatcher<TriggerInput, TriggerOutcome>;

	constructor(private readonly ctx: SchedulerContext) {
		this.waits = new RunWaits(ctx);
		this.turn = new TurnBatcher((inputs) => this.triggerBatch(inputs), MAX_TURN_BATCH, TURN_IN_FLIGHT);
	}

	/**
	 * Triggers one run; with parent.wait the parent starts waiting for it in the same
	 * transaction. Without a wait, the triggers of one event-loop turn share their
	 * statements (TurnBatcher): one task lookup and one insert for all of them.
	 */
	async trigger(input: TriggerInput): Promise<RunRecord> {
		validateTrigger(input, this.ctx.limits);
		if (input.parent?.wait !== true) {
			const outcome = await this.turn.call(input);
			if ("error" in outcome) throw outcome.error;
			return outcome.run;
		}
		const parent = input.parent;
		try {
			const { run, effects } = await inTransaction(this.ctx.pool, async (client) => {
				const parentRow = await lockAttemptForWait(
					client,
					parent.runId,
					parent.attemptId,
					input.environmentId,
				);
				const { run, effects } = await this.insertOne(client, input);
				if (!run.cached) {
					const suspended = await suspendForWait(
						client,
						parentRow,
						{ childRunId: run.id },
						new Date(this.ctx.clock.now()),
					);
					addEffects(effects, suspended.effects);
				}
				return { run, effects };
			});
			await applyEffects(this.ctx, effects);
			return run;
		} catch (error) {
			if (error instanceof ConcurrentWaitDetected) throw await this.waits.failConcurrentWait(error);
			throw error;
		}
	}

	/**
	 * The triggers of one turn: each environment's runs in one insert, so a batch
	 * that throws wrote nothing and TurnBatcher runs each trigger again alone. A
	 * trigger's own refusal (unknown task or parent) is its outcome and fails no other.
	 */
	private async triggerBatch(inputs: TriggerInput[]): Promise<TriggerOutcome[]> {
		const groups = new Map<string, number[]>();
		inputs.forEach((input, i) => {
			const group = groups.get(input.environmentId);
			if (group === undefined) groups.set(input.environmentId, [i]);
			else group.push(i);
		});
		// One environment's triggers are one insert, atomic on its own; several
		// environments' inserts share a transaction, so a failed batch wrote nothing.
		const alone = groups.size === 1;
		const unit = alone ? withClient : inTransaction;
		const outcomes: TriggerOutcome[] = new Array(inputs.length);
		const effects = await unit(this.ctx.pool, async (client) => {
			const all = noEffects();
			for (const [environmentId, members] of groups) {
				const created = await this.insertMany(
					client,
					environmentId,
					members.map((i) => inputs[i] as TriggerInput),
					undefined,
					alone,
				);
				addEffects(all, created.effects);
				created.runs.forEach((run, k) => {
					if (run !== undefined) outcomes[members[k] as number] = { run };
				});
				for (const f of created.failures) outcomes[members[f.index] as number] = { error: f.error };
			}
			return all;
		});
		await applyEffects(this.ctx, effects);
		return outcomes;
	}

	/** Triggers one run inside the caller's transaction (cron ticks); the caller applies the effects. */
	async triggerIn(client: pg.PoolClient, input: TriggerInput): Promise<{ run: RunRecord; effects: Effects }> {
		validateTrigger(input, this.ctx.limits);
		return this.insertOne(client, input);
	}

	/** Inserts one run on the caller's client; its refusal is thrown. */
	private async insertOne(
		client: pg.PoolClient,
		input: TriggerInput,
	): Promise<{ run: RunRecord; effects: Effects }> {
		const created = await this.insertMany(client, input.environmentId, [input], undefined);
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
		// The inputs that pass their checks and their indexes in the call, side by side: no
		// object or closure per item, and the batch placement goes along once, not copied
		// into every input.
		const valid: TriggerInput[] = [];
		const validIndexes: number[] = [];
		for (let index = 0; index < inputs.length; index++) {
			const input = inputs[index] as TriggerInput;
			try {
				if (input.parent?.wait === true) {
					throw ServiceError.invalidField(
						`runs[${index}].parent.wait`,
						"is not supported in TriggerRuns; wait for the batch with BeginWait(batch_id)",
					);
				}
				validateTrigger(input, this.ctx.limits, index);
				valid.push(input);
				validIndexes.push(index);
			} catch (error) {
				if (!isServiceError(error)) throw error;
				failures.push({ index, error });
			}
		}
		const batch = batchId === "" ? undefined : { id: batchId, firstIndex };
		const result = await inTransaction(this.ctx.pool, (client) =>
			this.insertMany(client, environmentId, valid, validIndexes, false, batch),
		);
		await applyEffects(this.ctx, result.effects);
		for (const f of result.failures)
			failures.push({ index: validIndexes[f.index] as number, error: f.error });
		const runs = result.runs.flatMap((run, i) =>
			run === undefined ? [] : [{ index: validIndexes[i] as number, run }],
		);
		failures.sort((a, b) => a.index - b.index);
		return { runs, failures };
	}

	/**
	 * Inserts runs (a TriggerRuns call, a turn's TriggerRun calls, one cron or
	 * waited-for run) in one statement with one JSON parameter and reads back only
	 * the ids that went in: a new run's record is built from the values just
	 * written, so PostgreSQL neither sends nor pg parses 1,000 full rows. What did
	 * not insert is read in one statement (cached runs). Refusals name their field
	 * with "runs[i]." when itemIndexes gives each input's index in its TriggerRuns call
	 * (some of the call's items may have been refused before), bare for a TriggerRun. With
	 * afterCommit (the insert committed on its own), nothing after the insert throws:
	 * a run that is neither inserted nor read back is that item's ABORTED failure.
	 */
	private async insertMany(
		client: pg.PoolClient,
		environmentId: string,
		inputs: TriggerInput[],
		itemIndexes: readonly number[] | undefined,
		afterCommit = false,
		batch?: BatchPlacement,
	): Promise<{ runs: (RunRecord | undefined)[]; failures: TriggerFailure[]; effects: Effects }> {
		const effects = noEffects();
		const runs: (RunRecord | undefined)[] = new Array(inputs.length).fill(undefined);
		const { rows, rowIndex, failures } = await this.newRuns(
			client,
			environmentId,
			inputs,
			itemIndexes,
			batch,
		);
		if (rows.length === 0) return { runs, failures, effects };
		// afterCommit: no transaction around this insert (see above).
		const inserted = await insertRuns(client, rows, !afterCommit);
		const missing: number[] = [];
		rows.forEach((run, k) => {
			if (!inserted.has(run.id)) {
				missing.push(k);
				return;
			}
			const row = insertedRow(run);
			runs[rowIndex[k] as number] = runFromRow(row);
			if (row.status === "QUEUED") effects.enqueue.push(messageFor(row));
			effects.changedRuns.push(row.id);
		});
		if (missing.length > 0) {
			// What did not insert collided with a stored batch index or a live idempotency key.
			const wanted = missing.map((k) => {
				const run = rows[k] as NewRun;
				return { batchId: run.batch_id, batchIndex: run.batch_index, idempotencyKey: run.idempotency_key };
			});
			// After an autocommit insert, a failed read must not fail the runs that went in.
			const stored = await conflictingRuns(client, environmentId, wanted).catch((error: unknown) => {
				if (!afterCommit) throw error;
				return [];
			});
			missing.forEach((k, m) => {
				const row = stored[m];
				if (row !== undefined) {
					runs[rowIndex[k] as number] = runFromRow(row, true);
					return;
				}
				const error = new ServiceError("ABORTED", "a conflicting run disappeared; try again");
				if (!afterCommit) throw error;
				failures.push({ index: rowIndex[k] as number, error });
			});
		}
		return { runs, failures, effects };
	}

	/**
	 * The rows for inputs that can become runs (known task, valid options, visible
	 * parent), with the input index of each; the others as failures. Releases expired
	 * idempotency keys first, so the unique index lets a new run take them.
	 */
	private async newRuns(
		client: pg.PoolClient,
		environmentId: string,
		inputs: TriggerInput[],
		itemIndexes: readonly number[] | undefined,
		batch: BatchPlacement | undefined,
	): Promise<{ rows: NewRun[]; rowIndex: number[]; failures: TriggerFailure[] }> {
		const now = this.ctx.clock.now();
		const nowDate = new Date(now);
		const failures: TriggerFailure[] = [];
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
		const ids = newRunIds(now, inputs.length);
		const defaults = new Map<TaskDefinition, RunSettings>();
		const rows: NewRun[] = [];
		const rowIndex: number[] = [];
		// A loop with no closure per input: under tsx every function made at run time
		// also costs a defineProperty (its name), and this runs once per run.
		for (let i = 0; i < inputs.length; i++) {
			const input = inputs[i] as TriggerInput;
			const version = input.options.deploymentVersion ?? "";
			const def = definitions.get(`${version}\u0000${input.taskId}`);
			if (def === undefined) {
				const field = itemIndexes === undefined ? "task_id" : `runs[${itemIndexes[i]}].task_id`;
				failures.push({ index: i, error: unknownTask(field, environmentId, input.taskId, version) });
				continue;
			}
			try {
				// A single trigger names its own batch place; TriggerRuns item i of a batch is
				// batch index firstIndex + i.
				let batchId: string | null = input.batchId || null;
				let batchIndex: number | null = batchId === null ? null : (input.batchIndex ?? 0);
				if (batch !== undefined) {
					batchId = batch.id;
					batchIndex = batch.firstIndex + (itemIndexes?.[i] ?? i);
				}
				rows.push(this.newRun(input, def, parents, now, ids[i] as string, defaults, batchId, batchIndex));
				rowIndex.push(i);
			} catch (error) {
				if (!isServiceError(error)) throw error;
				const refused = itemIndexes === undefined ? error : prefixed(error, `runs[${itemIndexes[i]}].`);
				failures.push({ index: i, error: refused });
			}
		}
		return { rows, rowIndex, failures };
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

	/** What a run's options resolve to against its task (machine, retry, the stored options). */
	private settings(input: TriggerInput, def: TaskDefinition): RunSettings {
		const o = input.options;
		const machine = resolveMachine(
			o.machine ?? def.machine,
			o.machine === undefined ? "task.machine" : "options.machine",
		);
		const retry: RetrySettings = { ...DEFAULT_RETRY, ...def.retry, ...o.retry };
		const delayMs = o.delayMs ?? 0;
		const keyTtlMs = o.idempotencyKeyTtlMs || this.ctx.limits.defaultIdempotencyKeyTtlMs;
		const stored: StoredOptions = {
			queue: o.queue || def.queue || `task/${input.taskId}`,
			concurrencyKey: o.concurrencyKey ?? "",
			idempotencyKey: o.idempotencyKey ?? "",
			idempotencyKeyTtlMs: o.idempotencyKey ? keyTtlMs : 0,
			delayMs,
			ttlMs: o.ttlMs ?? 0,
			tags: o.tags ?? [],
			retry,
			priority: o.priority ?? 0,
			maxDurationMs: o.maxDurationMs ?? def.maxDurationMs ?? 0,
			metadata: o.metadata ?? null,
			machine: machine.name,
			deploymentVersion: o.deploymentVersion ?? "",
		};
		return { machine, retry, stored, document: optionsDocument(stored) };
	}

	private newRun(
		input: TriggerInput,
		def: TaskDefinition,
		parents: Map<string, string>,
		now: number,
		id: string,
		defaults: Map<TaskDefinition, RunSettings>,
		batchId: string | null,
		batchIndex: number | null,
	): NewRun {
		const o = input.options;
		// Items of a batch mostly carry no options: their settings are the task's, the same
		// objects for every such run of the call (one JSON value for the bulk insert to store).
		let settings = hasNoOptions(o) ? defaults.get(def) : undefined;
		if (settings === undefined) {
			settings = this.settings(input, def);
			if (hasNoOptions(o)) defaults.set(def, settings);
		}
		const { machine, retry, stored, document } = settings;
		const parentRunId = input.parent?.runId ? input.parent.runId : null;
		if (parentRunId !== null && !parents.has(parentRunId))
			throw ServiceError.notFound("parent run", parentRunId);
		const { delayMs, ttlMs, maxDurationMs } = stored;
		const delayed = delayMs > 0;
		const keyTtlMs = stored.idempotencyKeyTtlMs;
		const date = new Date(now);
		return {
			id,
			environment_id: input.environmentId,
			task_id: input.taskId,
			status: delayed ? "DELAYED" : "QUEUED",
			// A view of the request's bytes, not a copy: the insert copies them into its own message.
			payload: Buffer.isBuffer(input.payload)
				? input.payload
				: Buffer.from(input.payload.buffer, input.payload.byteOffset, input.payload.byteLength),
			payload_type: input.payloadType || "application/json",
			options: document,
			queue: stored.queue,
			concurrency_key: stored.concurrencyKey,
			priority: stored.priority,
			tags: stored.tags,
			machine_name: machine.name,
			cpu: machine.cpu,
			memory_gb: machine.memoryGb,
			max_attempts: retry.maxAttempts,
			retry,
			max_duration_ms: maxDurationMs > 0 ? maxDurationMs : null,
			ttl_ms: ttlMs > 0 ? ttlMs : null,
			idempotency_key: o.idempotencyKey || null,
			idempotency_key_expires_at: o.idempotencyKey ? new Date(now + keyTtlMs) : null,
			queue_seq: delayed ? 0 : 1,
			parent_run_id: parentRunId,
			parent_attempt_id: input.parent?.attemptId || null,
			root_run_id: parentRunId === null ? id : (parents.get(parentRunId) as string),
			batch_id: batchId,
			batch_index: batchIndex,
			replay_of_run_id: input.replayOfRunId || null,
			deployment_version: stored.deploymentVersion,
			schedule_id: input.scheduleId || null,
			created_at: date,
			updated_at: date,
			queued_at: delayed ? null : date,
			delay_until: delayed ? new Date(now + delayMs) : null,
			expires_at: !delayed && ttlMs > 0 ? new Date(now + ttlMs) : null,
		};
	}
}

/** Where the runs of a TriggerRuns call go in their batch: item i is index firstIndex + i. */
interface BatchPlacement {
	id: string;
	firstIndex: number;
}

/** A run's options resolved against its task. */
interface RunSettings {
	machine: { name: string; cpu: number; memoryGb: number };
	retry: RetrySettings;
	stored: StoredOptions;
	/** What of `stored` the options column keeps: one object for the runs that share these settings. */
	document: OptionsDocument;
}

/** True when a trigger sets no option at all (the task's settings apply). */
function hasNoOptions(options: TriggerInput["options"]): boolean {
	for (const _ in options) return false;
	return true;
}

function prefixed(error: ServiceError, prefix: string): ServiceError {
	if (error.code !== "INVALID_ARGUMENT") return error;
	return ServiceError.invalidFields(
		error.fieldViolations.map((v) => ({ field: `${prefix}${v.field}`, description: v.description })),
	);
}
