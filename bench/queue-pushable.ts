/** An async iterable the benchmark pushes stream requests into. */
export class Pushable<T> implements AsyncIterable<T> {
	private readonly items: T[] = [];
	private wake: (() => void) | undefined;
	private ended = false;

	/** Queues an item for the stream. */
	push(item: T): void {
		this.items.push(item);
		this.wake?.();
	}

	/** Ends the stream after what is queued. */
	end(): void {
		this.ended = true;
		this.wake?.();
	}

	async *[Symbol.asyncIterator](): AsyncGenerator<T> {
		for (;;) {
			const item = this.items.shift();
			if (item !== undefined) {
				yield item;
				continue;
			}
			if (this.ended) return;
			await new Promise<void>((resolve) => {
				this.wake = resolve;
			});
			this.wake = undefined;
		}
	}
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[index] as number;
}

/** Wall-clock ms with sub-ms precision, comparable across processes of one host. */
export function preciseNow(): number {
	return performance.timeOrigin + performance.now();
}
