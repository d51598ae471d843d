import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type {
	AttemptStreamRequestSchema,
	AttemptStreamResponse,
	CompleteAttemptRequestSchema,
	CompleteAttemptResponse,
	SchedulerService,
	StartAttemptRequestSchema,
	StartAttemptResponse,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	connectErrorOfStatus,
	emptyAnswer,
	OrderedStreamClient,
} from "../../../packages/ordered-stream/src/index.js";

/**
 * A worker's StartAttempt and CompleteAttempt, over one AttemptStream (opened on
 * the first call): a frame each way instead of a unary call, which cost the
 * worker more than twice the CPU per message. Each call resolves with the unary
 * call's response or rejects with exactly the ConnectError the unary call failed
 * with (a refusal comes in-band as a google.rpc.Status); a failed stream rejects
 * the calls it had not answered with its error, and the next call opens another.
 */
export class AttemptCalls {
	private readonly stream: OrderedStreamClient<
		MessageInitShape<typeof AttemptStreamRequestSchema>,
		AttemptStreamResponse
	>;

	constructor(scheduler: Client<typeof SchedulerService>) {
		this.stream = new OrderedStreamClient((requests) => scheduler.attemptStream(requests));
	}

	/** As SchedulerService.StartAttempt. */
	async start(request: MessageInitShape<typeof StartAttemptRequestSchema>): Promise<StartAttemptResponse> {
		const answer = await this.stream.send({ kind: { case: "start", value: request } });
		if (answer.kind.case === "started") return answer.kind.value;
		throw this.refusal(answer);
	}

	/** As SchedulerService.CompleteAttempt. */
	async complete(
		request: MessageInitShape<typeof CompleteAttemptRequestSchema>,
	): Promise<CompleteAttemptResponse> {
		const answer = await this.stream.send({ kind: { case: "complete", value: request } });
		if (answer.kind.case === "completed") return answer.kind.value;
		throw this.refusal(answer);
	}

	/** Ends the stream once what was sent has been answered. */
	close(): void {
		this.stream.close();
	}

	private refusal(answer: AttemptStreamResponse): Error {
		return answer.kind.case === "error"
			? connectErrorOfStatus(answer.kind.value)
			: emptyAnswer("AttemptStream");
	}
}
