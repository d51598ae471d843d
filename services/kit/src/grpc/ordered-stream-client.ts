import { Code, ConnectError } from "@connectrpc/connect";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";

/** Opens one bidirectional stream: requests in, responses out, one response per request, in order. */
export type OpenOrderedStream<I, O> = (requests: AsyncIterable<I>) => AsyncIterable<O>;

/**
 * Sends requests one at a time over a long-lived bidirectional stream whose
 * server answers each request once, in order (QueueService.EnqueueStream): a
 * request costs a frame each way instead of a call. The stream opens on the
 * first send; when it fails or ends, every unanswered send is rejected with
 * the failure and the next send opens a new stream, so a caller sees what a
 * failed unary call would show and may send again.
 */
export class OrderedStreamClient<I, O> {
	readonly #open: OpenOrderedStream<I, O>;
	#stream: OpenStream<I, O> | undefined;

	constructor(open: OpenOrderedStream<I, O>) {
		this.#open = open;
	}

	/** Resolves with the response to this request. */
	send(request: I): Promise<O> {
		this.#stream ??= this.#start();
		return this.#stream.send(request);
	}

	/** Ends the stream after what was sent has been answered. */
	close(): void {
		this.#stream?.end();
		this.#stream = undefined;
	}

	#start(): OpenStream<I, O> {
		// Opened outside any caller's trace: the stream outlives the call that opened it.
		const stream = context.with(ROOT_CONTEXT, () => new OpenStream(this.#open));
		stream.finished.then(() => {
			if (this.#stream === stream) this.#stream = undefined;
		});
		return stream;
	}
}

/** One open stream and the sends it has not answered yet. */
class OpenStream<I, O> {
	readonly finished: Promise<void>;
	readonly #waiting: Array<{ resolve: (response: O) => void; reject: (error: unknown) => void }> = [];
	readonly #requests: I[] = [];
	#wakeWriter: (() => void) | undefined;
	#ended = false;
	#failure: unknown;

	constructor(open: OpenOrderedStream<I, O>) {
		this.finished = this.#read(open(this.#pending()));
	}

	send(request: I): Promise<O> {
		if (this.#ended)
			return Promise.reject(this.#failure ?? new ConnectError("the stream has ended", Code.Unavailable));
		return new Promise<O>((resolve, reject) => {
			this.#waiting.push({ resolve, reject });
			this.#requests.push(request);
			this.#wakeWriter?.();
		});
	}

	end(): void {
		this.#ended = true;
		this.#wakeWriter?.();
	}

	async *#pending(): AsyncGenerator<I> {
		for (;;) {
			const next = this.#requests.shift();
			if (next !== undefined) {
				yield next;
				continue;
			}
			if (this.#ended) return;
			await new Promise<void>((resolve) => {
				this.#wakeWriter = resolve;
			});
			this.#wakeWriter = undefined;
		}
	}

	async #read(responses: AsyncIterable<O>): Promise<void> {
		try {
			for await (const response of responses) this.#waiting.shift()?.resolve(response);
			this.#failure = new ConnectError("the stream ended before answering every request", Code.Unavailable);
		} catch (error) {
			this.#failure = error;
		}
		this.#ended = true;
		this.#wakeWriter?.();
		for (const waiter of this.#waiting.splice(0)) waiter.reject(this.#failure);
	}
}
