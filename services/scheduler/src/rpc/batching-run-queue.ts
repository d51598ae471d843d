import type { RunMessage, RunQueue, Settlement } from "../core/run-queue.js";

/**
 * Coalesces the engine's queue calls: everything asked for during one turn of the
 * event loop goes to the queue in one Enqueue and one Acknowledge/Nack per consumer.
 * At hundreds of runs a second this turns hundreds of RPCs into a few, which is
 * what keeps trigger and completion latency flat (one RPC per message caps a hot
 * path at a few thousand a second on a small machine).
 */
export class BatchingRunQueue implements RunQueue {
	private messages: { items: RunMessage[]; done: Deferred }[] = [];
	private settlements: { items: Settlement[]; done: Deferred }[] = [];
	private scheduled = false;

	constructor(private readonly inner: RunQueue) {}

	/** Resolves once the batch that carried these messages was stored. */
	enqueue(messages: RunMessage[]): Promise<void> {
		const done = deferred();
		this.messages.push({ items: messages, done });
		this.schedule();
		return done.promise;
	}

	/** Resolves once the batch that carried these settlements was applied. */
	settle(settlements: Settlement[]): Promise<void> {
		const done = deferred();
		this.settlements.push({ items: settlements, done });
		this.schedule();
		return done.promise;
	}

	private schedule(): void {
		if (this.scheduled) return;
		this.scheduled = true;
		setImmediate(() => {
			this.scheduled = false;
			const messages = this.messages;
			const settlements = this.settlements;
			this.messages = [];
			this.settlements = [];
			if (messages.length > 0) void this.flush(messages, (all) => this.inner.enqueue(all));
			if (settlements.length > 0) void this.flush(settlements, (all) => this.inner.settle(all));
		});
	}

	private async flush<T>(
		batch: { items: T[]; done: Deferred }[],
		send: (all: T[]) => Promise<void>,
	): Promise<void> {
		try {
			await send(batch.flatMap((b) => b.items));
			for (const b of batch) b.done.resolve();
		} catch (error) {
			for (const b of batch) b.done.reject(error);
		}
	}
}

interface Deferred {
	promise: Promise<void>;
	resolve(): void;
	reject(error: unknown): void;
}

function deferred(): Deferred {
	let resolve: () => void = () => {};
	let reject: (error: unknown) => void = () => {};
	const promise = new Promise<void>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}
