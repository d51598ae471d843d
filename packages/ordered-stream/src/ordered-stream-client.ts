import { Code, ConnectError } from "@connectrpc/connect";

/** Opens one bidirectional stream: requests in, responses out, one response per request, in order. */
export type OpenOrderedStream<I, O> = (requests: AsyncIterable<I>) => AsyncIterable<O>;

/** How an OrderedStreamClient starts its streams. */
export interface OrderedStreamOptions {
	/**
	 * Runs the start of each new stream (the open call and the first read). A stream
	 * outlives the send that opened it, so a caller with tracing runs it outside that
	 * send's trace here; by default it runs as is.
	 */
	startStream?: <T>(start: () => T) => T;
}

/**
 * Sends requests one at a time over a long-lived bidirectional stream whose
 * server answers each request once, in order (QueueService.EnqueueStream,
 * SchedulerService.AttemptStream and TriggerStream): a
 * request costs a frame each way instead of a call. The stream opens on the
 * first send. When the server ends it cleanly with requests unanswered (it
 * began to drain), those are sent again, once, on a new stream — for
 * idempotent requests only, which is what this is for. When it fails, every
 * unanswered send is rejected with the failure, as a failed unary call would
 * be, and the next send opens a new stream.
 */
export class OrderedStreamClient<I, O> {
	readonly #open: OpenOrderedStream<I, O>;
	readonly #startStream: <T>(start: () => T) => T;
	#stream: OpenStream<I, O> | undefined;

	constructor(open: OpenOrderedStream<I, O>, options: OrderedStreamOptions = {}) {
		this.#open = open;
		this.#startStream = options.startStream ?? ((start) => start());
	}

	/** Resolves with the response to this request. */
	send(request: I): Promise<O> {
		return new Promise<O>((resolve, reject) => this.#enqueue({ request, resolve, reject, resent: false }));
	}

	/** Ends the stream after what was sent has been answered. */
	close(): void {
		this.#stream?.end();
		this.#stream = undefined;
	}

	#enqueue(pending: Pending<I, O>): void {
		this.#stream ??= this.#start();
		this.#stream.send(pending);
	}

	#start(): OpenStream<I, O> {
		const stream = this.#startStream(
			() =>
				new OpenStream(this.#open, (unanswered) => {
					if (this.#stream === stream) this.#stream = undefined;
					for (const pending of unanswered) {
						if (pending.resent) pending.reject(endedEarly());
						else this.#enqueue({ ...pending, resent: true });
					}
				}),
		);
		stream.finished.then(() => {
			if (this.#stream === stream) this.#stream = undefined;
		});
		return stream;
	}
}

/** A send not answered yet. */
interface Pending<I, O> {
	request: I;
	resolve: (response: O) => void;
	reject: (error: unknown) => void;
	/** Sent again already, after a stream that ended without answering it. */
	resent: boolean;
}

function endedEarly(): ConnectError {
	return new ConnectError("the stream ended before answering the request", Code.Unavailable);
}

/** One open stream and the sends it has not answered yet. */
class OpenStream<I, O> {
	readonly finished: Promise<void>;
	readonly #unanswered: Array<Pending<I, O>> = [];
	readonly #toWrite: I[] = [];
	#wakeWriter: (() => void) | undefined;
	#ended = false;

	constructor(
		open: OpenOrderedStream<I, O>,
		private readonly endedCleanly: (unanswered: Array<Pending<I, O>>) => void,
	) {
		this.finished = this.#read(open(this.#writes()));
	}

	send(pending: Pending<I, O>): void {
		if (this.#ended) {
			this.endedCleanly([pending]);
			return;
		}
		this.#unanswered.push(pending);
		this.#toWrite.push(pending.request);
		this.#wakeWriter?.();
	}

	end(): void {
		this.#ended = true;
		this.#wakeWriter?.();
	}

	async *#writes(): AsyncGenerator<I> {
		for (;;) {
			const next = this.#toWrite.shift();
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
		let failure: unknown;
		try {
			for await (const response of responses) this.#unanswered.shift()?.resolve(response);
		} catch (error) {
			failure = error;
		}
		this.#ended = true;
		this.#wakeWriter?.();
		const unanswered = this.#unanswered.splice(0);
		if (failure === undefined) this.endedCleanly(unanswered);
		else for (const pending of unanswered) pending.reject(failure);
	}
}
