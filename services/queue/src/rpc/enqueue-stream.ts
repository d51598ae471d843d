import type {
	EnqueueStreamRequest,
	EnqueueStreamResponse,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { type CallContext, isServiceError, statusOf } from "../../../kit/src/index.js";
import type { Clock } from "../core/clock.js";
import type { FairQueue } from "../core/fair-queue.js";
import { AsyncChannel } from "./async-channel.js";
import { enqueueInput } from "./enqueue-input.js";
import { enqueueStreamResponse } from "./response-encoding.js";

/**
 * Requests of one stream being stored at once. The stream is read no further
 * while this many are unanswered, so a producer that outruns Redis is slowed
 * by HTTP/2 flow control instead of growing the server's memory.
 */
export const MAX_UNANSWERED = 64;

/** What an EnqueueStream needs. */
export interface EnqueueStreamDeps {
	queue: FairQueue;
	clock: Clock;
	maxPayloadBytes: number;
}

/**
 * One EnqueueStream: each request is validated and stored as a unary Enqueue
 * is, several at once (their scripts go out back to back on the Redis
 * connection), and answered in the order sent. A refused request is answered
 * with its status; a store failure ends the stream with it, and the producer
 * sends again what was not answered. A drain ends the stream cleanly after
 * the requests already read.
 */
export async function* enqueueStream(
	requests: AsyncIterable<EnqueueStreamRequest>,
	context: CallContext,
	deps: EnqueueStreamDeps,
): AsyncGenerator<EnqueueStreamResponse> {
	const answers = new AsyncChannel<Promise<EnqueueStreamResponse>>(MAX_UNANSWERED);
	// When the server begins to drain, the stream reads no further: what was read is
	// answered and the stream ends cleanly, so the producer sends the rest to a
	// server that stays instead of waiting out the drain.
	const drained = new Promise<{ done: true; value: undefined }>((resolve) => {
		if (context.draining.aborted) resolve({ done: true, value: undefined });
		context.draining.addEventListener("abort", () => resolve({ done: true, value: undefined }), {
			once: true,
		});
	});
	const input = requests[Symbol.asyncIterator]();
	const reading = (async () => {
		let sequence = 0n;
		for (;;) {
			const next = await Promise.race([input.next(), drained]);
			if (next.done || context.signal.aborted) break;
			const answer = answerOf(next.value, sequence, deps);
			// Awaited in order below; this keeps a failure that comes first from being unhandled.
			answer.catch(() => {});
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
		answers.close();
		// The reader may be parked on the next request; the transport ends it with the call.
		void reading;
	}
}

async function answerOf(
	request: EnqueueStreamRequest,
	sequence: bigint,
	deps: EnqueueStreamDeps,
): Promise<EnqueueStreamResponse> {
	let messages: ReturnType<typeof enqueueInput>;
	try {
		messages = enqueueInput(request, deps.maxPayloadBytes, deps.clock.now());
	} catch (error) {
		if (!isServiceError(error)) throw error;
		return {
			$typeName: "taskmesh.queue.v1.EnqueueStreamResponse",
			sequence,
			results: [],
			error: statusOf(error),
		};
	}
	const duplicates = await deps.queue.enqueue(messages);
	return enqueueStreamResponse(
		sequence,
		messages.map((m) => m.id),
		duplicates,
	);
}
