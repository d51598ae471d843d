import type {
	EnqueueStreamRequest,
	EnqueueStreamResponse,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { type CallContext, orderedAnswers } from "../../../kit/src/index.js";
import type { Clock } from "../core/clock.js";
import type { FairQueue } from "../core/fair-queue.js";
import type { NewMessage } from "../core/types.js";
import { enqueueInput } from "./enqueue-input.js";
import { enqueueStreamResponse } from "./response-encoding.js";

/** What an EnqueueStream needs. */
export interface EnqueueStreamDeps {
	queue: FairQueue;
	clock: Clock;
	maxPayloadBytes: number;
}

/**
 * One EnqueueStream: each request is validated and stored as a unary Enqueue
 * is, and answered in the order sent (see orderedAnswers). A refused request is
 * answered with its status; a store failure ends the stream with it, and the
 * producer sends again what was not answered.
 */
export function enqueueStream(
	requests: AsyncIterable<EnqueueStreamRequest>,
	context: CallContext,
	deps: EnqueueStreamDeps,
): AsyncGenerator<EnqueueStreamResponse> {
	return orderedAnswers(
		requests,
		context,
		(request, sequence) => answerOf(request, sequence, deps),
		(sequence, error) => ({
			$typeName: "taskmesh.queue.v1.EnqueueStreamResponse",
			sequence,
			results: [],
			error,
		}),
	);
}

async function answerOf(
	request: EnqueueStreamRequest,
	sequence: bigint,
	deps: EnqueueStreamDeps,
): Promise<EnqueueStreamResponse> {
	const messages = enqueueInput(request, deps.maxPayloadBytes, deps.clock.now());
	const duplicates = await deps.queue.enqueue(messages);
	if (!request.duplicatesOnly)
		return enqueueStreamResponse(
			sequence,
			messages.map((m) => m.id),
			duplicates,
		);
	const ids: string[] = [];
	for (let i = 0; i < messages.length; i++) if (duplicates[i]) ids.push((messages[i] as NewMessage).id);
	return enqueueStreamResponse(sequence, ids, new Array<boolean>(ids.length).fill(true));
}
