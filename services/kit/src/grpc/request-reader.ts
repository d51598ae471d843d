import type { Readable } from "node:stream";
import { wellFormed } from "./malformed-request.js";

/**
 * The requests of a client or bidi stream, one read at a time, ending at the client's
 * half-close or when the call closes. A request whose bytes were not its message ends
 * the iteration with INVALID_ARGUMENT.
 *
 * Not Node's own `readable.iterator()`: that one watches the stream for 'error', which
 * is how a handler's failure reaches grpc-js (`call.emit("error", status)`), and then
 * destroys the stream. A write still in flight then never completes, grpc-js never
 * sends the status, and the client waits for ever: a stream failing while requests
 * were still arriving hung instead of ending with its error.
 */
export function readRequests(call: Readable): AsyncIterable<unknown> {
	let ended = false;
	let wake: (() => void) | undefined;
	const park = (resolve: () => void) => {
		wake = resolve;
	};
	const rouse = () => {
		const resolve = wake;
		wake = undefined;
		resolve?.();
	};
	const end = () => {
		ended = true;
		rouse();
	};
	call.on("readable", rouse);
	call.once("end", end);
	call.once("close", end);
	const next = async (): Promise<IteratorResult<unknown>> => {
		for (;;) {
			const request: unknown = call.read();
			if (request !== null) return { done: false, value: wellFormed(request) };
			if (ended || call.readableEnded || call.destroyed) return { done: true, value: undefined };
			await new Promise<void>(park);
		}
	};
	const iterator: AsyncIterator<unknown> = {
		next,
		return: async (value?: unknown) => {
			end();
			return { done: true, value };
		},
	};
	return { [Symbol.asyncIterator]: () => iterator };
}
