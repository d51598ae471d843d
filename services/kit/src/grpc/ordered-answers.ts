import type { Status } from "../../../../gen/google/rpc/status_pb.js";
import { callersError, statusOf } from "../errors/grpc-status.js";
import { AsyncChannel } from "./async-channel.js";
import { callOrDrain } from "./call-or-drain.js";
import type { CallContext } from "./implementation.js";
import { StoppableReads } from "./stoppable-reads.js";

/**
 * Requests of one stream being handled at once. The stream is read no further
 * while this many are unanswered, so a producer that outruns Redis is slowed
 * by HTTP/2 flow control instead of growing the server's memory.
 */
export const MAX_UNANSWERED = 64;

/** Made once: marks an answer's rejection as handled (it is awaited in order later). */
const ignore = () => {};

/**
 * Serves a stream whose every request gets one answer, in the order sent
 * (EnqueueStream, SettleStream, AttemptStream, TriggerStream): requests are
 * handled several at once (their scripts or statements go out back to back) and
 * answered in order. A request refused with a ServiceError (bad input, a run not
 * found, ...), or by a store for input let through (a NUL), is answered in-band
 * by `refused` with that status — the same code, message and details the unary
 * call fails with — and the stream goes on; any other failure (a store's) ends
 * the stream with its status. When the server
 * begins to drain, the stream reads no further: what was read is answered and
 * the stream ends cleanly, so the client sends the rest to a server that stays
 * instead of waiting out the drain.
 */
export async function* orderedAnswers<I, O>(
	requests: AsyncIterable<I>,
	context: CallContext,
	answerOf: (request: I, sequence: bigint) => Promise<O>,
	refused: (sequence: bigint, status: Status) => O,
): AsyncGenerator<O> {
	const answers = new AsyncChannel<Promise<O>>(MAX_UNANSWERED);
	const stop = callOrDrain(context);
	const reads = new StoppableReads(requests[Symbol.asyncIterator](), stop.signal);
	const reading = (async () => {
		let sequence = 0n;
		for (;;) {
			const next = await reads.next();
			if (next === undefined || next.done || stop.signal.aborted) break;
			const answered = sequence;
			const answer = answerOf(next.value, sequence).then(undefined, (error: unknown) => {
				const refusal = callersError(error);
				if (refusal === undefined) throw error;
				return refused(answered, statusOf(refusal));
			});
			// Awaited in order below; this keeps a failure that comes first from being unhandled.
			answer.catch(ignore);
			sequence += 1n;
			await answers.push(answer);
		}
	})().then(
		() => answers.close(),
		(error: unknown) => answers.fail(error),
	);
	try {
		for await (const answer of answers) yield await answer;
	} finally {
		stop.release();
		answers.close();
		// The reader may be parked on the next request; the transport ends it with the call.
		void reading;
	}
}
