import type { CallContext } from "./implementation.js";

/** A signal that a long-lived stream should stop at its next clean point. */
export interface StopSignal {
	/** Aborted when the call ends or the server begins to drain. */
	signal: AbortSignal;
	/** Stops listening to the server's drain; call it when the stream ends. */
	release(): void;
}

/**
 * The call's abort signal joined with the server's drain signal, for a stream
 * that ends cleanly when the server drains. The drain signal lives as long as
 * the server, so the listener is removed with release() — a stream that ended
 * first would otherwise stay referenced by it until the server stopped.
 */
export function callOrDrain(context: CallContext): StopSignal {
	const stop = new AbortController();
	const abort = () => stop.abort();
	if (context.signal.aborted || context.draining.aborted) stop.abort();
	context.signal.addEventListener("abort", abort, { once: true });
	context.draining.addEventListener("abort", abort, { once: true });
	return {
		signal: stop.signal,
		release() {
			context.signal.removeEventListener("abort", abort);
			context.draining.removeEventListener("abort", abort);
		},
	};
}

/**
 * What `follow` yields, until the call ends or the server begins to drain; then
 * the stream ends cleanly. For long-lived server streams (a wait, a tail, a feed)
 * whose caller asks again on a server that stays, so a drain is not held open
 * until it times out. The drain listener goes with the stream.
 */
export async function* untilDrained<T>(
	context: CallContext,
	follow: (signal: AbortSignal) => AsyncIterable<T>,
): AsyncGenerator<T> {
	const stop = callOrDrain(context);
	try {
		yield* follow(stop.signal);
	} finally {
		stop.release();
	}
}
