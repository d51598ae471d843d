import type { RunMessage, RunQueue, Settlement } from "../core/run-queue.js";
import { TurnBatcher } from "../core/turn-batcher.js";

/**
 * Coalesces the engine's queue calls: everything asked for during one turn of the
 * event loop goes to the queue in one Enqueue and one Acknowledge/Nack per consumer.
 * At hundreds of runs a second this turns hundreds of RPCs into a few, which is
 * what keeps trigger and completion latency flat (one RPC per message caps a hot
 * path at a few thousand a second on a small machine).
 */
export class BatchingRunQueue implements RunQueue {
	private readonly messages: TurnBatcher<RunMessage[], void>;
	private readonly settlements: TurnBatcher<Settlement[], void>;

	constructor(private readonly inner: RunQueue) {
		this.messages = new TurnBatcher(async (calls) => {
			await inner.enqueue(calls.flat());
			return calls.map(() => undefined);
		}, Number.POSITIVE_INFINITY);
		this.settlements = new TurnBatcher(async (calls) => {
			await inner.settle(calls.flat());
			return calls.map(() => undefined);
		}, Number.POSITIVE_INFINITY);
	}

	/** Resolves once the batch that carried these messages was stored. */
	enqueue(messages: RunMessage[]): Promise<void> {
		return this.messages.call(messages);
	}

	/** Resolves once the batch that carried these settlements was applied. */
	settle(settlements: Settlement[]): Promise<void> {
		return this.settlements.call(settlements);
	}

	close(): void {
		this.inner.close?.();
	}
}
