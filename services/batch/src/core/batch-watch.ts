import { EventEmitter } from "node:events";

/**
 * Wakes WaitForBatch streams in this process when a batch changes. Other
 * replicas' changes are picked up by the streams' own polling, so this is an
 * accelerator, never the only path.
 */
export class BatchWatch {
	readonly #events = new EventEmitter();

	constructor() {
		// One listener per open WaitForBatch stream; many streams on one batch are normal.
		this.#events.setMaxListeners(0);
	}

	/** Announces that these batches changed. */
	notify(batchIds: Iterable<string>): void {
		for (const id of new Set(batchIds)) this.#events.emit(id);
	}

	/** Resolves on the next change of the batch, after `timeoutMs`, or when the signal aborts. */
	next(batchId: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer);
				this.#events.off(batchId, done);
				signal.removeEventListener("abort", done);
				resolve();
			};
			const timer = setTimeout(done, timeoutMs);
			this.#events.once(batchId, done);
			signal.addEventListener("abort", done, { once: true });
		});
	}
}
