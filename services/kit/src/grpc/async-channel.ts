/**
 * A bounded queue between producers and one async reader: push() waits while
 * `highWater` items are unread, so the delivery loop slows down to what the
 * transport takes instead of buffering without bound.
 */
export class AsyncChannel<T> {
	private readonly items: T[] = [];
	private readonly highWater: number;
	private readonly readers: Array<() => void> = [];
	private readonly writers: Array<() => void> = [];
	private closed = false;
	private failure: { error: unknown } | undefined;

	constructor(highWater: number) {
		this.highWater = highWater;
	}

	/** Adds an item; resolves when there is room again. Ignored once closed. */
	async push(item: T): Promise<void> {
		if (this.closed) return;
		this.items.push(item);
		await this.added();
	}

	/**
	 * Adds items together: a reader waiting wakes once, to all of them (pushed one by
	 * one, it would wake to the first alone). Resolves when there is room again, so
	 * the channel holds at most one such group over its high-water mark. Ignored once closed.
	 */
	async pushAll(items: readonly T[]): Promise<void> {
		if (this.closed || items.length === 0) return;
		for (const item of items) this.items.push(item);
		await this.added();
	}

	/** After items went in: wakes the reader, then waits while the channel is full. */
	private async added(): Promise<void> {
		this.readers.shift()?.();
		while (this.items.length >= this.highWater && !this.closed) {
			await new Promise<void>((resolve) => this.writers.push(resolve));
		}
	}

	/** Ends the channel; the reader gets what is left, then stops. */
	close(): void {
		this.closed = true;
		for (const wake of this.readers.splice(0)) wake();
		for (const wake of this.writers.splice(0)) wake();
	}

	/** True once closed or failed: pushes are ignored from then on. */
	get isClosed(): boolean {
		return this.closed;
	}

	/** Ends the channel with an error the reader throws after what is left. */
	fail(error: unknown): void {
		this.failure ??= { error };
		this.close();
	}

	async *[Symbol.asyncIterator](): AsyncGenerator<T> {
		for (;;) {
			const item = this.items.shift();
			if (item !== undefined) {
				// Every writer waiting for room is woken once there is room: woken one per
				// item read, writers that outnumber the items left would wait on after the
				// channel emptied, with nothing left to read to wake them.
				if (this.items.length < this.highWater) for (const wake of this.writers.splice(0)) wake();
				yield item;
				continue;
			}
			if (await this.ended()) return;
		}
	}

	/**
	 * Reads the channel in groups: each time the reader asks, every item waiting
	 * (up to maxItems) at once, so a reader that spends a round trip per group
	 * takes what arrived during the last one together.
	 */
	async *drain(maxItems: number): AsyncGenerator<T[]> {
		for (;;) {
			if (this.items.length > 0) {
				const group = this.items.splice(0, maxItems);
				for (const wake of this.writers.splice(0)) wake();
				yield group;
				continue;
			}
			if (await this.ended()) return;
		}
	}

	/** With nothing to read: true once closed (throwing a failure), else waits for a push. */
	private async ended(): Promise<boolean> {
		if (this.closed) {
			if (this.failure !== undefined) throw this.failure.error;
			return true;
		}
		await new Promise<void>((resolve) => this.readers.push(resolve));
		return false;
	}
}
