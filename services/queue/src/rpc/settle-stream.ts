import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
	SettleStreamRequest,
	SettleStreamResponseSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { type CallContext, orderedAnswers, ServiceError } from "../../../kit/src/index.js";
import type { Clock } from "../core/clock.js";
import type { FairQueue } from "../core/fair-queue.js";
import { failuresToProto } from "./proto-convert.js";
import { acknowledgeInput, nackInput } from "./settle-input.js";

type Answer = MessageInitShape<typeof SettleStreamResponseSchema>;

/** What a SettleStream needs. */
export interface SettleStreamDeps {
	queue: FairQueue;
	clock: Clock;
}

/**
 * One SettleStream: each request acknowledges or nacks deliveries of one
 * consumer, with the batch rules whatever the number of items (failures are
 * listed, the others apply), answered in the order sent (see orderedAnswers).
 * A refused request is answered with its status.
 */
export function settleStream(
	requests: AsyncIterable<SettleStreamRequest>,
	context: CallContext,
	deps: SettleStreamDeps,
): AsyncGenerator<Answer> {
	return orderedAnswers(
		requests,
		context,
		async (request, sequence) => ({ sequence, result: await settlementOf(request, deps)() }),
		(sequence, error) => ({ sequence, result: { case: "error", value: error } }),
	);
}

/** Validates a request whole (throwing INVALID_ARGUMENT) and returns what applies it. */
function settlementOf(request: SettleStreamRequest, deps: SettleStreamDeps): () => Promise<Answer["result"]> {
	const kind = request.kind;
	if (kind.case === "acknowledge") {
		const { consumerId, items } = acknowledgeInput(kind.value);
		return async () => {
			const result = await deps.queue.acknowledge(consumerId, items);
			return {
				case: "acknowledged",
				value: { acknowledged: result.acknowledged, failures: failuresToProto(result.failures) },
			};
		};
	}
	if (kind.case === "nack") {
		const { consumerId, items } = nackInput(kind.value, deps.clock.now());
		return async () => {
			const result = await deps.queue.nack(consumerId, items);
			return {
				case: "nacked",
				value: {
					requeued: result.requeued,
					deadLettered: result.deadLettered,
					failures: failuresToProto(result.failures),
				},
			};
		};
	}
	throw ServiceError.invalidField("kind", "must be acknowledge or nack");
}
