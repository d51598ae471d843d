import { BatchStatus } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { type Run, RunStatus } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { Clients } from "../client/clients.js";
import { call, TaskmeshError } from "../client/errors.js";
import { followUntilFinal } from "../client/follow-until-final.js";
import { sdkClients } from "../client/sdk-config.js";
import { type AwaitedRun, currentAttempt, type WaitOutcome } from "./attempt-runtime.js";
import { batchChunkRequestOf } from "./batch-chunk-encoding.js";
import { isFinalStatus, type RunInfo, runInfoOf } from "./run-info.js";
import { TaskRunResult } from "./task-run-result.js";
import { type TriggerItem, type TriggerOptions, triggerItem } from "./trigger-options.js";

/** A run just triggered. */
export interface RunHandle {
	id: string;
	taskId: string;
	isCached: boolean;
}

/** One item of a batch trigger. */
export interface BatchItem {
	task: string;
	payload?: unknown;
	options?: TriggerOptions;
}

/** A batch just created. */
export interface BatchHandle {
	batchId: string;
	/** How many runs the batch has. */
	runCount: number;
	isCached: boolean;
}

/** Called as a streamed batch's items are sent. */
export type BatchProgress = (sent: number, total: number) => void;

/** Items per CreateBatch call (the contract's inline limit) and per stream frame. */
export const INLINE_BATCH_LIMIT = 1000;
const STREAM_CHUNK = 500;

// Counts triggers of the running attempt, so a replay after a wait derives the same
// idempotency keys and finds the runs the first pass already created.
let triggerSequence = 0;

/** Resets the per-attempt trigger counter (the child process calls it per attempt). */
export function resetTriggerSequence(): void {
	triggerSequence = 0;
}

/** Triggers a run of a task; inside a task the new run is its child. */
export async function triggerTask(
	taskId: string,
	payload: unknown,
	options: TriggerOptions = {},
): Promise<RunHandle> {
	const item = triggerItem(taskId, payload, options);
	const clients = sdkClients();
	const attempt = currentAttempt();
	if (attempt !== undefined && item.options.idempotencyKey === undefined) {
		item.options.idempotencyKey = `${attempt.ctx.attempt.id}:trigger:${triggerSequence++}`;
	}
	const response = await call(
		clients.triggers.trigger({
			environmentId: clients.environmentId,
			taskId: item.taskId,
			payload: item.payload,
			payloadType: item.payloadType,
			options: item.options,
			...(attempt === undefined
				? {}
				: { parent: { runId: attempt.ctx.run.id, attemptId: attempt.ctx.attempt.id, wait: false } }),
		}),
	);
	const run = response.run as Run;
	return { id: run.id, taskId: run.taskId, isCached: run.cached };
}

/**
 * Triggers a run and waits for its outcome. Inside a task the run suspends (its
 * concurrency slot is freed) until the child is final; outside a task the caller
 * follows the run's status stream.
 */
export async function triggerTaskAndWait<O>(
	taskId: string,
	payload: unknown,
	options: TriggerOptions = {},
): Promise<TaskRunResult<O>> {
	const item = triggerItem(taskId, payload, options);
	const attempt = currentAttempt();
	if (attempt !== undefined) {
		const outcome = await attempt.wait({ kind: "child", item });
		return TaskRunResult.of<O>(onlyRun(outcome));
	}
	const handle = await triggerTask(taskId, payload, options);
	return TaskRunResult.of<O>(awaitedOf(await waitForRun(sdkClients(), handle.id)));
}

/** Triggers many runs as one batch; more than 1,000 items are streamed. */
export async function triggerBatch(items: BatchItem[], onProgress?: BatchProgress): Promise<BatchHandle> {
	const wire = wireItems(items);
	const clients = sdkClients();
	const attempt = currentAttempt();
	const parent =
		attempt === undefined
			? undefined
			: { runId: attempt.ctx.run.id, attemptId: attempt.ctx.attempt.id, wait: false };
	return createBatch(clients, wire, parent, onProgress);
}

/**
 * Triggers a batch and waits for every run; results come in item order. Inside a
 * task the run suspends until the batch completes.
 */
export async function triggerBatchAndWait<O>(
	items: BatchItem[],
): Promise<{ batchId: string; runs: TaskRunResult<O>[] }> {
	const wire = wireItems(items);
	const attempt = currentAttempt();
	if (attempt !== undefined) {
		const outcome = await attempt.wait({ kind: "batch", items: wire });
		if (outcome.error?.code === BATCH_RESULTS_TOO_LARGE) {
			// The batch completed, but its results were too large to travel with the
			// resume: they are read page by page instead, the same results in item order.
			const runs = await readBatchRuns(sdkClients(), outcome.batchId);
			return { batchId: outcome.batchId, runs: runs.map((r) => TaskRunResult.of<O>(r)) };
		}
		if (outcome.error !== undefined) {
			throw new TaskmeshError(`batch ${outcome.batchId} failed: ${outcome.error.message}`, {
				code: outcome.error.code,
			});
		}
		return { batchId: outcome.batchId, runs: outcome.runs.map((r) => TaskRunResult.of<O>(r)) };
	}
	const clients = sdkClients();
	const handle = await createBatch(clients, wire, undefined);
	const runs = await waitForBatchRuns(clients, handle.batchId);
	return { batchId: handle.batchId, runs: runs.map((r) => TaskRunResult.of<O>(r)) };
}

/** Creates a batch inline (up to 1,000 items) or declared and streamed. */
export async function createBatch(
	clients: Clients,
	items: TriggerItem[],
	parent: { runId: string; attemptId: string; wait: boolean } | undefined,
	onProgress?: BatchProgress,
): Promise<BatchHandle> {
	const environmentId = clients.environmentId;
	const inline = items.length <= INLINE_BATCH_LIMIT;
	const created = await call(
		clients.batch.createBatch({
			environmentId,
			...(inline ? { items: items.map(batchInput) } : { expectedItemCount: items.length }),
			...(parent === undefined ? {} : { parent }),
		}),
	);
	const batch = created.batch;
	if (batch === undefined) throw new TaskmeshError("the batch service returned no batch");
	if (inline) {
		onProgress?.(items.length, items.length);
		return { batchId: batch.id, runCount: items.length, isCached: batch.cached };
	}
	const batchId = batch.id;
	async function* frames() {
		yield { kind: { case: "header" as const, value: { environmentId, batchId } } };
		for (let start = 0; start < items.length; start += STREAM_CHUNK) {
			const chunk = items
				.slice(start, start + STREAM_CHUNK)
				.map((item, i) => ({ index: start + i, item: batchInput(item) }));
			yield batchChunkRequestOf(chunk);
			onProgress?.(Math.min(items.length, start + STREAM_CHUNK), items.length);
		}
	}
	const streamed = await call(clients.batch.streamBatchItems(frames()));
	if (streamed.failures.length > 0) {
		const first = streamed.failures[0];
		throw new TaskmeshError(
			`batch ${batchId}: ${streamed.failures.length} items were rejected; item ${first?.index}: ${first?.message}`,
			{ code: "BATCH_ITEMS_REJECTED" },
		);
	}
	return { batchId, runCount: items.length, isCached: batch.cached };
}

/** Follows a run's status stream until it is final (across drains and dropped streams). */
export async function waitForRun(clients: Clients, runId: string): Promise<RunInfo> {
	const update = await followUntilFinal(
		() => clients.scheduler.waitForRun({ environmentId: clients.environmentId, runId }),
		(u) => u.run !== undefined && isFinalStatus(u.run.status),
		`run ${runId}`,
	);
	return runInfoOf(update.run as Run);
}

/** The error code of a batch wait resumed without its results (too large to carry); see readBatchRuns. */
const BATCH_RESULTS_TOO_LARGE = "BATCH_RESULTS_TOO_LARGE";

/** Follows a batch until it is final and reads every item's outcome in index order. */
export async function waitForBatchRuns(clients: Clients, batchId: string): Promise<AwaitedRun[]> {
	const environmentId = clients.environmentId;
	// Only a final status ends the wait: a stream that ends early (a draining server) is
	// followed again, never taken for completion.
	const final = await followUntilFinal(
		() => clients.batch.waitForBatch({ environmentId, batchId }),
		(u) => u.batch?.status === BatchStatus.COMPLETED || u.batch?.status === BatchStatus.FAILED,
		`batch ${batchId}`,
	);
	if (final.batch?.status === BatchStatus.FAILED) {
		throw new TaskmeshError(`batch ${batchId} failed: ${final.batch.failureReason}`, {
			code: "BATCH_FAILED",
		});
	}
	return readBatchRuns(clients, batchId);
}

/** Every item's outcome of a final batch, in index order, page by page. */
export async function readBatchRuns(clients: Clients, batchId: string): Promise<AwaitedRun[]> {
	const environmentId = clients.environmentId;
	const runs: AwaitedRun[] = [];
	let pageToken = "";
	do {
		const page = await call(
			clients.batch.listBatchItems({ environmentId, batchId, pageSize: 1000, pageToken }),
		);
		for (const item of page.items) {
			runs.push({
				runId: item.runId,
				ok: item.status === RunStatus.COMPLETED,
				output: item.output,
				outputType: "application/json",
				...(item.error === undefined ? {} : { error: item.error }),
			});
		}
		pageToken = page.nextPageToken;
	} while (pageToken !== "");
	return runs;
}

function awaitedOf(run: RunInfo): AwaitedRun {
	const ok = run.status === "COMPLETED";
	return {
		runId: run.id,
		ok,
		output: new TextEncoder().encode(run.output === undefined ? "" : JSON.stringify(run.output)),
		outputType: "application/json",
		...(run.error === undefined
			? ok
				? {}
				: {
						error: { name: run.status, message: `run ended ${run.status}`, code: run.status, stackTrace: "" },
					}
			: { error: run.error }),
	};
}

function onlyRun(outcome: WaitOutcome): AwaitedRun {
	const run = outcome.runs[0];
	if (run === undefined) throw new TaskmeshError("the wait resolved without the awaited run's outcome");
	return run;
}

function wireItems(items: BatchItem[]): TriggerItem[] {
	if (!Array.isArray(items) || items.length === 0) {
		throw new TaskmeshError("items: a batch needs at least one item", { code: "INVALID_ARGUMENT" });
	}
	return items.map((item, i) => triggerItem(item.task, item.payload, item.options, `items[${i}].`));
}

function batchInput(item: TriggerItem) {
	return { taskId: item.taskId, payload: item.payload, payloadType: item.payloadType, options: item.options };
}
