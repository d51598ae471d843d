import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type {
	SchedulerService,
	TriggerRunRequestSchema,
	TriggerRunResponse,
	TriggerStreamRequestSchema,
	TriggerStreamResponse,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	connectErrorOfStatus,
	emptyAnswer,
	OrderedStreamClient,
} from "../../../packages/ordered-stream/src/index.js";

/** A TriggerRun request as the generated client takes it. */
export type TriggerRunInit = MessageInitShape<typeof TriggerRunRequestSchema>;

/** What RunTriggers is built with. */
export interface RunTriggersOptions {
	scheduler: Client<typeof SchedulerService>;
	/** The gRPC message limit the transport enforces on requests. */
	maxMessageBytes: number;
	/**
	 * How long the stream stays open with nothing to answer; 250 ms by default. An
	 * open stream keeps the HTTP/2 connection, and so the process, alive: a script
	 * that triggered a run exits this long after its last answer.
	 */
	idleCloseMs?: number;
}

/** Room a TriggerRun request keeps beside its payload: ids, options, framing. */
const REQUEST_HEADROOM_BYTES = 64 * 1024;

/**
 * Triggers runs for one client: a run without a parent over one TriggerStream
 * (opened on the first trigger; a frame each way instead of a call), answered in
 * order, a refusal turned into the error unary TriggerRun fails with. A run with a
 * parent takes unary TriggerRun, which the stream refuses. So does a request near
 * the message limit: the transport refuses it before it is sent, and on the stream
 * that refusal would fail the other triggers in flight with it.
 */
export class RunTriggers {
	private readonly stream: OrderedStreamClient<
		MessageInitShape<typeof TriggerStreamRequestSchema>,
		TriggerStreamResponse
	>;
	private readonly idleCloseMs: number;
	private inFlight = 0;
	private idle: NodeJS.Timeout | undefined;

	constructor(private readonly options: RunTriggersOptions) {
		this.stream = new OrderedStreamClient((requests) => options.scheduler.triggerStream(requests));
		this.idleCloseMs = options.idleCloseMs ?? 250;
	}

	/** Resolves with TriggerRun's answer, or rejects with the ConnectError TriggerRun fails with. */
	async trigger(request: TriggerRunInit): Promise<TriggerRunResponse> {
		const payloadBytes = request.payload?.byteLength ?? 0;
		if (
			request.parent !== undefined ||
			payloadBytes > this.options.maxMessageBytes - REQUEST_HEADROOM_BYTES
		) {
			return this.options.scheduler.triggerRun(request);
		}
		clearTimeout(this.idle);
		this.inFlight++;
		try {
			const answer = await this.stream.send({ run: request });
			switch (answer.kind.case) {
				case "triggered":
					return answer.kind.value;
				case "error":
					throw connectErrorOfStatus(answer.kind.value);
				default:
					throw emptyAnswer("TriggerStream");
			}
		} finally {
			if (--this.inFlight === 0) {
				this.idle = setTimeout(() => this.stream.close(), this.idleCloseMs);
				this.idle.unref();
			}
		}
	}

	/** Ends the stream once what was sent has been answered. */
	close(): void {
		clearTimeout(this.idle);
		this.stream.close();
	}
}
