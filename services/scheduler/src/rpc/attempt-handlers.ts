import { create } from "@bufbuild/protobuf";
import {
	type CompleteAttemptRequest,
	type CompleteAttemptResponse,
	CompleteAttemptResponseSchema,
	type StartAttemptRequest,
	type StartAttemptResponse,
	StartAttemptResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { ServiceError } from "../../../kit/src/index.js";
import type { SchedulerEngine } from "../core/scheduler-engine.js";
import { required } from "./page-token.js";
import { attemptToProto, resumeToProto, taskErrorFromProto, ts } from "./proto-convert.js";
import { withRun } from "./run-encoding.js";

/**
 * A worker's two calls, shared by the unary StartAttempt / CompleteAttempt and
 * by AttemptStream, so a request means the same whichever way it comes.
 */
export interface AttemptHandlers {
	start(request: StartAttemptRequest): Promise<StartAttemptResponse>;
	complete(request: CompleteAttemptRequest): Promise<CompleteAttemptResponse>;
}

/** The attempt handlers over the run engine. */
export function attemptHandlers(engine: SchedulerEngine): AttemptHandlers {
	return {
		async start(request) {
			const started = await engine.attempts.start({
				workerId: required(request.workerId, "worker_id"),
				runId: required(request.runId, "run_id"),
				receipt: request.queueReceipt,
				consumerId: request.queueConsumerId || request.workerId,
			});
			const response = create(StartAttemptResponseSchema, {
				attempt: attemptToProto(started.attempt),
				deadline: ts(started.deadline),
				resolvedWaits: started.resolvedWaits.map(resumeToProto),
				resumed: started.resumed,
			});
			return withRun(response, started.run);
		},

		async complete(request) {
			required(request.workerId, "worker_id");
			required(request.attemptId, "attempt_id");
			const r = request.result;
			if (r.case === undefined)
				throw ServiceError.invalidField("result", "exactly one of output or error is required");
			const result =
				r.case === "output"
					? { output: r.value.output, outputType: r.value.outputType }
					: { error: taskErrorFromProto(r.value) };
			const done = await engine.attempts.complete(request.workerId, request.attemptId, result);
			return withRun(create(CompleteAttemptResponseSchema, { retryAt: ts(done.retryAt) }), done.run);
		},
	};
}
