/** Compute resources, of a message (needed) or of a consumer (free). */
export interface Resources {
	cpu: number;
	memoryGb: number;
}

/**
 * Why a delivery was acknowledged. The numbers are the wire numbers of the
 * contract's AckReason, so they pass through unchanged.
 */
export const ACK_REASONS = [
	"unspecified",
	"completed",
	"failed_will_retry",
	"failed_permanent",
	"canceled",
	"expired",
	"max_nacks_reached",
	"timed_out",
	"crashed",
	"rejected",
] as const;

/** An acknowledgement reason by number (1 to 9). */
export type AckReason = number;

/** The reason the queue itself gives a message it dead-letters. */
export const MAX_NACKS_REACHED: AckReason = 6;

/** Name of a reason for metrics and logs ("completed", ...). */
export function ackReasonName(reason: AckReason): string {
	return ACK_REASONS[reason] ?? `reason_${reason}`;
}

/** Run, task and attempt a message stands for. */
export interface MessageMetadata {
	runId: string;
	taskId: string;
	attempt: number;
	labels: Record<string, string>;
}

/** A message as a producer gives it, already validated. */
export interface NewMessage {
	id: string;
	environmentId: string;
	queue: string;
	/** Empty when the message has none. */
	concurrencyKey: string;
	payload: Uint8Array;
	priority: number;
	/** Ms since the epoch; undefined means now. */
	availableAt?: number;
	/** Undefined means it fits anywhere. */
	resources?: Resources;
	metadata: MessageMetadata;
}

/** A message as stored. */
export interface StoredMessage {
	id: string;
	environmentId: string;
	queue: string;
	concurrencyKey: string;
	payload: Buffer;
	priority: number;
	enqueuedAt: number;
	availableAt: number;
	resources: Resources;
	metadata: MessageMetadata;
	nackCount: number;
}

/** One delivery of a message to a consumer. */
export interface Delivery {
	message: StoredMessage;
	/** Opaque; names this delivery only. */
	receipt: string;
	deliveryCount: number;
	visibleUntil: number;
}

/** Which queues of an environment a consumer takes from (no queues: all). */
export interface Selector {
	environmentId: string;
	queues: string[];
}

/** What a consumer asks of deliver(). */
export interface DeliverRequest {
	consumerId: string;
	selectors: Selector[];
	max: number;
	/** Undefined means no limit. */
	free?: Resources;
	/** Undefined takes each queue's own. */
	visibilityMs?: number;
}

/** What deliver() gives back. */
export interface DeliverResult {
	deliveries: Delivery[];
	/** The earliest time a delayed message or an expiring delivery is due, if any. */
	nextDueAt?: number;
}

/** Why one item of a batch was not applied. */
export interface ItemFailure {
	index: number;
	/** The message id when the receipt named one. */
	id: string;
	code: "NOT_FOUND" | "FAILED_PRECONDITION";
	message: string;
}

/** Limits and settings of a queue (0: no limit). */
export interface QueueSettings {
	paused: boolean;
	concurrencyLimit: number;
	/** As set; 0 means the default share of concurrencyLimit applies. */
	concurrencyKeyLimit: number;
	maxNacks: number;
	visibilityTimeoutMs: number;
}

/** A queue's numbers. */
export interface QueueStats {
	depth: number;
	inFlight: number;
	delayed: number;
	deadLettered: number;
	oldestAgeMs: number;
	/** Count per reason number. */
	acknowledgements: Map<AckReason, number>;
}

/** A queue with its settings and numbers. */
export interface QueueInfo {
	environmentId: string;
	name: string;
	settings: QueueSettings;
	stats: QueueStats;
}

/** Changes to a queue; undefined keeps the value. */
export interface QueueChanges {
	paused?: boolean;
	concurrencyLimit?: number;
	concurrencyKeyLimit?: number;
	maxNacks?: number;
	visibilityTimeoutMs?: number;
}

/** A dead-lettered message. */
export interface DeadLetter {
	message: StoredMessage;
	reason: AckReason;
	detail: string;
	deadLetteredAt: number;
}
