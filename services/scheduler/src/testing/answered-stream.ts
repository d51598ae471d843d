import assert from "node:assert/strict";
import { AsyncChannel } from "../../../kit/src/index.js";

/**
 * One side of a stream whose every request is answered in order (AttemptStream,
 * TriggerStream) as a test drives it: send a request, read the next answer, see
 * the stream end.
 */
export function answeredStream<I, O>(open: (requests: AsyncIterable<I>) => AsyncIterable<O>) {
	const requests = new AsyncChannel<I>(64);
	const answers = open(requests)[Symbol.asyncIterator]();
	return {
		send: (request: I) => requests.push(request),
		next: async (): Promise<O> => {
			const { value, done } = await answers.next();
			assert.equal(done, false, "the stream ended before an answer");
			return value as O;
		},
		/** Resolves true when the server ended the stream (cleanly) instead of answering. */
		ended: async () => (await answers.next()).done === true,
		end: () => requests.close(),
	};
}
