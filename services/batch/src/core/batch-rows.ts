import type { BatchRecord, BatchStatus, ItemRecord, ProcessingStrategy } from "./types.js";

/** Columns every batch read selects, in the order batchFromRow expects. */
export const BATCH_COLUMNS = `id, environment_id, status, strategy, expected_item_count, created_item_count,
	final_item_count, completed_item_count, failed_item_count, sealed, failure_reason, failure_code, key_shown,
	parent_run_id, parent_attempt_id, parent_wait, wait_id, created_at, sealed_at, completed_at, seal_deadline`;

/** A batches row as pg returns it. */
export interface BatchRow {
	id: string;
	environment_id: string;
	status: string;
	strategy: string;
	expected_item_count: number;
	created_item_count: number;
	final_item_count: number;
	completed_item_count: number;
	failed_item_count: number;
	sealed: boolean;
	failure_reason: string;
	failure_code: string;
	key_shown: string;
	parent_run_id: string;
	parent_attempt_id: string;
	parent_wait: boolean;
	wait_id: string | null;
	created_at: Date;
	sealed_at: Date | null;
	completed_at: Date | null;
	seal_deadline: Date;
}

/** Turns a batches row into the core's record. */
export function batchFromRow(row: BatchRow): BatchRecord {
	return {
		id: row.id,
		environmentId: row.environment_id,
		status: row.status as BatchStatus,
		strategy: row.strategy as ProcessingStrategy,
		expectedItemCount: row.expected_item_count,
		createdItemCount: row.created_item_count,
		finalItemCount: row.final_item_count,
		completedItemCount: row.completed_item_count,
		failedItemCount: row.failed_item_count,
		sealed: row.sealed,
		failureReason: row.failure_reason,
		failureCode: row.failure_code,
		idempotencyKey: row.key_shown,
		parentRunId: row.parent_run_id,
		parentAttemptId: row.parent_attempt_id,
		parentWait: row.parent_wait,
		waitId: row.wait_id ?? "",
		createdAt: row.created_at,
		sealedAt: row.sealed_at ?? undefined,
		completedAt: row.completed_at ?? undefined,
		sealDeadline: row.seal_deadline,
	};
}

/** The columns of a batch_items row, in table order. */
export const ITEM_COLUMNS = ["batch_id", "item_index", "run_id", "task_id", "status", "final", "cached"];

/** A batch_items row as pg returns it. */
export interface ItemRow {
	batch_id: string;
	item_index: number;
	run_id: string;
	task_id: string;
	status: string;
	final: boolean;
	cached: boolean;
}

/** Turns a batch_items row into the core's record. */
export function itemFromRow(row: ItemRow): ItemRecord {
	return {
		batchId: row.batch_id,
		index: row.item_index,
		runId: row.run_id,
		taskId: row.task_id,
		status: row.status,
		final: row.final,
		cached: row.cached,
	};
}
