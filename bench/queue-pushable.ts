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

/** Latencies of a steady-rate run, split at the end of its warm-up. */
export interface LatencySplit {
	/** Messages sent during the warm-up: fresh processes, code not yet optimised by V8. */
	warmup: number[];
	/** Messages sent after it: the steady state the figures are about. */
	steady: number[];
}

/**
 * Splits consumer samples, flattened as [sentAt, latency, sentAt, latency, ...],
 * into those sent before `steadyFrom` (a preciseNow() time) and after.
 */
export function splitAtWarmup(samples: number[], steadyFrom: number): LatencySplit {
	const split: LatencySplit = { warmup: [], steady: [] };
	for (let i = 0; i + 1 < samples.length; i += 2) {
		const latency = samples[i + 1] as number;
		if ((samples[i] as number) < steadyFrom) split.warmup.push(latency);
		else split.steady.push(latency);
	}
	return split;
}
