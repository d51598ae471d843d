import { create } from "@bufbuild/protobuf";
import {
	type TriggerRunRequest,
	type TriggerRunResponse,
	type TriggerStreamRequest,
	type TriggerStreamResponse,
	TriggerStreamResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type CallContext, orderedAnswers, ServiceError } from "../../../kit/src/index.js";

/** TriggerRun's handler, which each request of the stream goes through. */
export type TriggerRunHandler = (request: TriggerRunRequest) => Promise<TriggerRunResponse>;

/**
 * One TriggerStream: each request is a TriggerRun without a parent, answered in
 * the order sent (see orderedAnswers: several at once, so the triggers of one
 * turn still share one insert). A refused request is answered with its status
 * and the stream goes on; any other failure ends the stream with it.
 */
export function triggerStream(
	requests: AsyncIterable<TriggerStreamRequest>,
	context: CallContext,
	triggerRun: TriggerRunHandler,
): AsyncGenerator<TriggerStreamResponse> {
	return orderedAnswers(
		requests,
		context,
		(request, sequence) => answerOf(request, sequence, triggerRun),
		(sequence, error) =>
			create(TriggerStreamResponseSchema, { sequence, kind: { case: "error", value: error } }),
	);
}

async function answerOf(
	request: TriggerStreamRequest,
	sequence: bigint,
	triggerRun: TriggerRunHandler,
): Promise<TriggerStreamResponse> {
	const run = request.run;
	if (run === undefined) throw ServiceError.invalidField("run", "is required");
	// A parent's attempt and wait are checked (and locked) by TriggerRun alone.
	if (run.parent !== undefined) {
		throw ServiceError.invalidField("run.parent", "is not accepted on TriggerStream; use TriggerRun");
	}
	return create(TriggerStreamResponseSchema, {
		sequence,
		kind: { case: "triggered", value: await triggerRun(run) },
	});
}
