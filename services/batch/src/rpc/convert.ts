import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
	type BatchSchema,
	BatchStatus,
	ProcessingStrategy,
} from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import type { BatchRecord, ProcessingStrategy as CoreStrategy, RejectedItem } from "../core/types.js";

const STATUS: Record<BatchRecord["status"], BatchStatus> = {
	PENDING: BatchStatus.PENDING,
	PROCESSING: BatchStatus.PROCESSING,
	COMPLETED: BatchStatus.COMPLETED,
	FAILED: BatchStatus.FAILED,
};

/** The core's strategy of a request's; unspecified means PARALLEL. */
export function strategyOf(strategy: ProcessingStrategy): CoreStrategy {
	return strategy === ProcessingStrategy.SEQUENTIAL ? "SEQUENTIAL" : "PARALLEL";
}

/** A batch as the contract shows it. */
export function batchMessage(batch: BatchRecord, cached = false): MessageInitShape<typeof BatchSchema> {
	return {
		id: batch.id,
		environmentId: batch.environmentId,
		status: STATUS[batch.status],
		expectedItemCount: batch.expectedItemCount,
		createdItemCount: batch.createdItemCount,
		finalItemCount: batch.finalItemCount,
		completedItemCount: batch.completedItemCount,
		failedItemCount: batch.failedItemCount,
		sealed: batch.sealed,
		failureReason: batch.failureReason,
		idempotencyKey: batch.idempotencyKey,
		cached,
		parentRunId: batch.parentRunId,
		strategy: batch.strategy === "SEQUENTIAL" ? ProcessingStrategy.SEQUENTIAL : ProcessingStrategy.PARALLEL,
		createdAt: timestampFromDate(batch.createdAt),
		...(batch.sealedAt === undefined ? {} : { sealedAt: timestampFromDate(batch.sealedAt) }),
		...(batch.completedAt === undefined ? {} : { completedAt: timestampFromDate(batch.completedAt) }),
		sealDeadline: timestampFromDate(batch.sealDeadline),
		waitId: batch.waitId,
	};
}

/** A refused item as an ItemFailure (index is the batch index). */
export function failureMessage(rejected: RejectedItem) {
	return { index: rejected.index, code: rejected.code, message: rejected.message };
}
