/** The life of a batch, as stored. */
export type BatchStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "FAILED";

/** How a batch's items are turned into runs. */
export type ProcessingStrategy = "SEQUENTIAL" | "PARALLEL";

/** A batch and its progress, as the core sees it. */
export interface BatchRecord {
	id: string;
	environmentId: string;
	status: BatchStatus;
	strategy: ProcessingStrategy;
	expectedItemCount: number;
	createdItemCount: number;
	finalItemCount: number;
	completedItemCount: number;
	failedItemCount: number;
	sealed: boolean;
	failureReason: string;
	/** Machine-readable cause of FAILED (BATCH_NOT_SEALED, BATCH_ITEMS_REJECTED, ...). */
	failureCode: string;
	idempotencyKey: string;
	parentRunId: string;
	parentAttemptId: string;
	parentWait: boolean;
	waitId: string;
	createdAt: Date;
	sealedAt: Date | undefined;
	completedAt: Date | undefined;
	sealDeadline: Date;
}

/** One recorded item of a batch. */
export interface ItemRecord {
	batchId: string;
	index: number;
	runId: string;
	taskId: string;
	/** The child's status name as the scheduler spells it without prefix ("QUEUED", "COMPLETED", ...). */
	status: string;
	final: boolean;
	cached: boolean;
}

/**
 * An item to turn into a run. `body` is the transport form of the item (task,
 * payload, options), opaque to the core, which only routes it to ChildRuns.
 */
export interface ItemToCreate {
	index: number;
	taskId: string;
	body: unknown;
}

/** A run the scheduler created (or returned) for an item. */
export interface CreatedChild {
	index: number;
	runId: string;
	status: string;
	/** True when the scheduler returned a run that already existed. */
	cached: boolean;
	/** The batch and index the returned run was made for (another batch for an item key hit). */
	runBatchId: string;
	runBatchIndex: number;
}

/** An item the scheduler refused, by batch index. */
export interface RejectedItem {
	index: number;
	/** gRPC status code number. */
	code: number;
	message: string;
}

/** One final outcome from the scheduler's completions feed. */
export interface ChildOutcome {
	cursor: bigint;
	runId: string;
	batchId: string;
	batchIndex: number;
	status: string;
}

/** One child's result, in the shape a resumed parent receives. */
export interface ChildResult {
	runId: string;
	status: string;
	output: Uint8Array;
	outputType: string;
	error: ChildError | undefined;
}

/** A task error, as the scheduler reports it. */
export interface ChildError {
	name: string;
	message: string;
	code: string;
	stackTrace: string;
	retryable: boolean;
}

/** A child's current state, read from the scheduler. */
export interface ChildState extends ChildResult {
	final: boolean;
}

/**
 * What the batch core needs from the run engine. The module implements it with
 * the generated SchedulerService client; the core never sees protobuf.
 */
export interface ChildRuns {
	/** Creates runs for consecutive indexes from `firstIndex`; idempotent per (batch, index). */
	triggerRuns(options: {
		environmentId: string;
		batchId: string;
		firstIndex: number;
		items: ItemToCreate[];
		parentRunId: string;
		parentAttemptId: string;
	}): Promise<{ created: CreatedChild[]; rejected: RejectedItem[] }>;
	/** Final outcomes after a cursor, in groups, until the signal aborts. */
	completions(afterCursor: bigint, signal: AbortSignal): AsyncIterable<ChildOutcome[]>;
	/** The child's state now. */
	getChild(environmentId: string, runId: string): Promise<ChildState>;
	/** The children's states now, in the order given (any number, read in bulk). */
	getChildren(environmentId: string, runIds: string[]): Promise<ChildState[]>;
	/** Starts the parent's wait for a batch; returns the wait id. */
	beginWait(runId: string, attemptId: string, batchId: string): Promise<string>;
	/** Resolves a wait with results in item order, or with an error; idempotent. */
	resolveWait(waitId: string, outcome: { results: ChildResult[] } | { error: ChildError }): Promise<void>;
	/** Cancels a child that should never have started; a final one is left alone. */
	cancel(environmentId: string, runId: string): Promise<void>;
}

/** Final run statuses (without the RUN_STATUS_ prefix). */
export const FINAL_RUN_STATUSES: ReadonlySet<string> = new Set([
	"COMPLETED",
	"FAILED",
	"CANCELED",
	"EXPIRED",
	"CRASHED",
	"SYSTEM_FAILURE",
	"TIMED_OUT",
]);

/** Limits and intervals the core applies (from the service's configuration). */
export interface BatchLimits {
	maxItems: number;
	chunkSize: number;
	parallelism: number;
	defaultSealTimeoutMs: number;
	defaultIdempotencyKeyTtlMs: number;
	/** Outputs and errors a parent's resume carries at most (see WaitResolver). */
	resumeResultsMaxBytes: number;
}
