/** One queue message that starts or resumes a run. */
export interface RunMessage {
	/** "<run id>:<queue sequence>", so a repeated enqueue of the same step is a duplicate. */
	id: string;
	environmentId: string;
	queue: string;
	concurrencyKey: string;
	priority: number;
	cpu: number;
	memoryGb: number;
	runId: string;
	taskId: string;
	attempt: number;
}

/** Why the scheduler settles a delivery. */
export type DeliveryOutcome =
	| "COMPLETED"
	| "FAILED_WILL_RETRY"
	| "FAILED_PERMANENT"
	| "CANCELED"
	| "EXPIRED"
	| "TIMED_OUT"
	| "CRASHED"
	| "REJECTED";

/** A delivery to acknowledge (with a reason) or give back (nack). */
export type Settlement =
	| { kind: "ack"; consumerId: string; receipt: string; outcome: DeliveryOutcome; detail: string }
	| { kind: "nack"; consumerId: string; receipt: string; detail: string };

/**
 * What the scheduler needs from the queue service. The module implements it with
 * the generated QueueService client; the core never sees protobuf.
 */
export interface RunQueue {
	/** Stores messages; ids already stored are left as they are. */
	enqueue(messages: RunMessage[]): Promise<void>;
	/** Settles deliveries; a stale receipt is not an error worth failing a call for. */
	settle(settlements: Settlement[]): Promise<void>;
	/** Lets go of a connection it keeps open (the enqueue stream), when it has one. */
	close?(): void;
}
