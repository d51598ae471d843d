/**
 * Reads a stream's requests one at a time, each read ending early (with
 * undefined) when the stop signal aborts. The reads used to race each
 * `input.next()` against one promise that settled only at the stop, which left a
 * reaction on that promise for every request read: memory held for as long as
 * the stream lived (hundreds of requests a second on an EnqueueStream), copied by
 * every young-generation collection until it was promoted. Here the stop signal
 * has one listener and each read is one promise.
 */
export class StoppableReads<I> {
	private readonly input: AsyncIterator<I>;
	private readonly signal: AbortSignal;
	private resolve: ((result: IteratorResult<I> | undefined) => void) | undefined;
	private reject: ((error: unknown) => void) | undefined;
	private readonly begin = (
		resolve: (result: IteratorResult<I> | undefined) => void,
		reject: (error: unknown) => void,
	) => {
		this.resolve = resolve;
		this.reject = reject;
	};
	private readonly onResult = (result: IteratorResult<I>) => this.settle(result);
	private readonly onError = (error: unknown) => {
		const reject = this.reject;
		this.resolve = undefined;
		this.reject = undefined;
		reject?.(error);
	};

	constructor(input: AsyncIterator<I>, signal: AbortSignal) {
		this.input = input;
		this.signal = signal;
		signal.addEventListener("abort", () => this.settle(undefined), { once: true });
	}

	/**
	 * The next request, or undefined once the signal has aborted (a request that
	 * comes after is dropped, as it was never read).
	 */
	next(): Promise<IteratorResult<I> | undefined> {
		if (this.signal.aborted) return Promise.resolve(undefined);
		const read = new Promise(this.begin);
		this.input.next().then(this.onResult, this.onError);
		return read;
	}

	private settle(result: IteratorResult<I> | undefined): void {
		const resolve = this.resolve;
		this.resolve = undefined;
		this.reject = undefined;
		resolve?.(result);
	}
}
