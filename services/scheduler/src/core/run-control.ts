import { ServiceError } from "../../../kit/src/index.js";
import type { RunRow } from "./run-rows.js";
import { runFromRow } from "./run-rows.js";
import { finishRuns } from "./run-transitions.js";
import type { RunRecord, TriggerInput } from "./run-types.js";
import { LIVE_STATUSES } from "./run-types.js";
import { applyEffects, inTransaction, type SchedulerContext } from "./scheduler-context.js";
import { storedOptionsOf } from "./stored-options.js";
import type { RunTrigger } from "./trigger-runs.js";
import { metadataViolation } from "./trigger-validation.js";

/** Canceling and replaying runs. */
export class RunControl {
	constructor(
		private readonly ctx: SchedulerContext,
		private readonly trigger: RunTrigger,
	) {}

	/**
	 * Cancels a run that is not final, and with `withChildren` every live descendant.
	 * An executing attempt is marked CANCELED and its delivery acknowledged; the
	 * worker learns it from its next heartbeat. Canceling a final run changes nothing.
	 */
	async cancel(
		environmentId: string,
		runId: string,
		withChildren: boolean,
	): Promise<{ run: RunRecord; canceled: string[] }> {
		const now = new Date(this.ctx.clock.now());
		const result = await inTransaction(this.ctx.pool, async (client) => {
			const found = await client.query<RunRow>("SELECT * FROM runs WHERE id = $1 AND environment_id = $2", [
				runId,
				environmentId,
			]);
			if (found.rows[0] === undefined) throw ServiceError.notFound("run", runId);
			let ids = [runId];
			if (withChildren) {
				const tree = await client.query<{ id: string }>(
					`WITH RECURSIVE tree AS (
						SELECT id FROM runs WHERE id = $1
						UNION SELECT r.id FROM runs r JOIN tree t ON r.parent_run_id = t.id
					) SELECT id FROM tree`,
					[runId],
				);
				ids = tree.rows.map((r) => r.id);
			}
			const done = await finishRuns(client, {
				ids,
				from: LIVE_STATUSES,
				status: "CANCELED",
				now,
				error: {
					name: "RunCanceled",
					message: "the run was canceled",
					stackTrace: "",
					code: "RUN_CANCELED",
					retryable: false,
				},
				attemptStatus: "CANCELED",
			});
			const after = await client.query<RunRow>("SELECT * FROM runs WHERE id = $1", [runId]);
			return { row: after.rows[0] as RunRow, canceled: done.rows.map((r) => r.id), effects: done.effects };
		});
		await applyEffects(this.ctx, result.effects);
		return { run: runFromRow(result.row), canceled: result.canceled };
	}

	/** Triggers the run again with the same task, payload and options, linked to it. */
	async replay(environmentId: string, runId: string): Promise<RunRecord> {
		const { rows } = await this.ctx.pool.query<RunRow>(
			"SELECT * FROM runs WHERE id = $1 AND environment_id = $2",
			[runId, environmentId],
		);
		const original = rows[0];
		if (original === undefined) throw ServiceError.notFound("run", runId);
		const o = storedOptionsOf(original);
		// A run stored before the limit (or under a larger one) keeps its metadata, but
		// a replay is a new run and takes the limit of today; the caller did not send it.
		const wrongMetadata = metadataViolation(o.metadata, this.ctx.limits.maxMetadataBytes);
		if (wrongMetadata !== undefined) {
			throw new ServiceError(
				"FAILED_PRECONDITION",
				`run_id: run "${runId}" cannot be replayed: its options.metadata of ${wrongMetadata}`,
			);
		}
		const input: TriggerInput = {
			environmentId,
			taskId: original.task_id,
			payload: original.payload,
			payloadType: original.payload_type,
			// The replay must run even though the original holds the idempotency key.
			options: {
				queue: o.queue,
				concurrencyKey: o.concurrencyKey,
				delayMs: o.delayMs,
				ttlMs: o.ttlMs,
				tags: o.tags,
				retry: o.retry,
				priority: o.priority,
				maxDurationMs: o.maxDurationMs,
				metadata: o.metadata,
				machine: { preset: o.machine },
				deploymentVersion: o.deploymentVersion,
			},
			replayOfRunId: original.id,
		};
		return this.trigger.trigger(input);
	}
}
