/**
 * A push-to-pull queue: producers push values, one consumer iterates them (the
 * request side of a client or bidi stream). Ending it finishes the iteration.
 */
export class AsyncChannel<T> implements AsyncIterable<T> {
	private readonly buffer: T[] = [];
	private waiter: (() => void) | undefined;
	private ended = false;

	/** Queues a value; ignored after end(). */
	push(value: T): void {
		if (this.ended) return;
		this.buffer.push(value);
		this.wake();
	}

	/** Ends the iteration once the buffered values are taken. */
	end(): void {
		this.ended = true;
		this.wake();
	}

	/** Values waiting to be taken. */
	get size(): number {
		return this.buffer.length;
	}

	async *[Symbol.asyncIterator](): AsyncIterator<T> {
		for (;;) {
			const next = this.buffer.shift();
			if (next !== undefined) {
				yield next;
				continue;
			}
			if (this.ended) return;
			await new Promise<void>((resolve) => {
				this.waiter = resolve;
			});
		}
	}

	private wake(): void {
		const w = this.waiter;
		this.waiter = undefined;
		w?.();
	}
}
