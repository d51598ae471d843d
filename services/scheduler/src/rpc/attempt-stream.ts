import { create } from "@bufbuild/protobuf";
import {
	type AttemptStreamRequest,
	type AttemptStreamResponse,
	AttemptStreamResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type CallContext, orderedAnswers, ServiceError } from "../../../kit/src/index.js";
import type { AttemptHandlers } from "./attempt-handlers.js";

/**
 * One AttemptStream: each request is a start or a completion, handled as the
 * unary call is and answered in the order sent (see orderedAnswers: several at
 * once, so the starts and completions of one turn still share one statement).
 * A refused request is answered with its status and the stream goes on; any
 * other failure ends the stream with it.
 */
export function attemptStream(
	requests: AsyncIterable<AttemptStreamRequest>,
	context: CallContext,
	handlers: AttemptHandlers,
): AsyncGenerator<AttemptStreamResponse> {
	return orderedAnswers(
		requests,
		context,
		(request, sequence) => answerOf(request, sequence, handlers),
		(sequence, error) =>
			create(AttemptStreamResponseSchema, { sequence, kind: { case: "error", value: error } }),
	);
}

async function answerOf(
	request: AttemptStreamRequest,
	sequence: bigint,
	handlers: AttemptHandlers,
): Promise<AttemptStreamResponse> {
	const kind = request.kind;
	switch (kind.case) {
		case "start":
			return create(AttemptStreamResponseSchema, {
				sequence,
				kind: { case: "started", value: await handlers.start(kind.value) },
			});
		case "complete":
			return create(AttemptStreamResponseSchema, {
				sequence,
				kind: { case: "completed", value: await handlers.complete(kind.value) },
			});
		default:
			throw ServiceError.invalidField("kind", "exactly one of start or complete is required");
	}
}
