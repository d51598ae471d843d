import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConsumeRequest, ConsumeResponseSchema } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { AsyncChannel, type CallContext, ServiceError } from "../../../kit/src/index.js";
import { ConsumerSession } from "../core/consumer-session.js";
import type { QueueCore } from "../core/queue-core.js";
import type { QueueConfig } from "../queue-config.js";
import { resourcesOf, selectorsOf } from "./consumer-input.js";
import { failuresToProto } from "./proto-convert.js";
import { deliveryBatchResponse } from "./response-encoding.js";
import { acknowledgeInput, heartbeatInput, nackInput } from "./settle-input.js";
import { MAX_VISIBILITY_MS, Violations } from "./violations.js";

type Response = MessageInitShape<typeof ConsumeResponseSchema>;

/** Most credits one message may grant. */
const MAX_CREDITS = 100_000;

/** Most receipts one hold message may name. */
const MAX_HOLD = 1_000;

/**
 * One Consume stream: the first message opens it; then credits, acknowledgements,
 * nacks and heartbeats come in while deliveries go out as soon as they are
 * deliverable. When the stream ends (the consumer closed it, or it was cut),
 * unsettled deliveries go back to their queues at once, except those the consumer
 * held (their work runs on and someone else settles them). When the server begins
 * to drain, it stops delivering, sends what it had taken, and ends the stream
 * cleanly with the deliveries still in flight: they stay the consumer's, to be
 * heartbeated and settled on a stream it opens elsewhere (or back at their
 * visibility timeout), so a rolling restart neither waits out the drain nor
 * returns messages whose work is still running.
 */
export async function* consumeStream(
	requests: AsyncIterable<ConsumeRequest>,
	context: CallContext,
	deps: { core: QueueCore; config: QueueConfig; liveConsumers: Set<string> },
): AsyncGenerator<Response> {
	const { core, config, liveConsumers } = deps;
	const input = requests[Symbol.asyncIterator]();
	const first = await input.next();
	if (first.done) return;
	if (first.value.kind.case !== "open") {
		throw ServiceError.invalidField("kind", "the first message of a Consume stream must be open");
	}
	const open = first.value.kind.value;
	const v = new Violations();
	v.ident("open.consumer_id", open.consumerId, true);
	const selectors = selectorsOf(v, open.selectors);
	const visibilityMs = v.duration("open.visibility_timeout", open.visibilityTimeout, 1000, MAX_VISIBILITY_MS);
	const free = resourcesOf(v, "open.free_resources", open.freeResources);
	v.throwIfAny();
	const consumerId = open.consumerId;
	if (liveConsumers.has(consumerId)) {
		throw new ServiceError(
			"ALREADY_EXISTS",
			`consumer_id "${consumerId}" already has an open Consume stream`,
		);
	}
	liveConsumers.add(consumerId);

	const out = new AsyncChannel<Response>(16);
	const stop = new AbortController();
	const onAbort = () => stop.abort();
	context.signal.addEventListener("abort", onAbort, { once: true });
	let drained = false;
	const onDrain = () => {
		drained = true;
		stop.abort();
	};
	context.draining.addEventListener("abort", onDrain, { once: true });
	const session = new ConsumerSession({
		queue: core.queue,
		consumerId,
		selectors,
		...(visibilityMs === undefined ? {} : { visibilityMs }),
		...(free === undefined ? {} : { free }),
		push: (deliveries) => out.push(deliveryBatchResponse(deliveries)),
		maxBatch: config.QUEUE_MAX_DELIVERY_BATCH,
		idleRecheckMs: config.QUEUE_IDLE_RECHECK_MS,
		telemetry: config.QUEUE_TELEMETRY,
		spanPeriodMs: config.QUEUE_SPAN_PERIOD_MS,
	});

	const handle = async (request: ConsumeRequest): Promise<Response | undefined> => {
		const kind = request.kind;
		switch (kind.case) {
			case "credit": {
				const cv = new Violations();
				if (
					!Number.isInteger(kind.value.credits) ||
					kind.value.credits <= 0 ||
					kind.value.credits > MAX_CREDITS
				) {
					cv.add("credit.credits", `${kind.value.credits} must be from 1 to ${MAX_CREDITS}`);
				}
				const stated = resourcesOf(cv, "credit.free_resources", kind.value.freeResources);
				cv.throwIfAny();
				session.addCredits(kind.value.credits, stated);
				return undefined;
			}
			case "acknowledge": {
				const { items } = acknowledgeInput(kind.value, consumerId);
				const result = await core.queue.acknowledge(consumerId, items);
				session.settled(
					settledReceipts(
						items.map((i) => i.receipt),
						result.failures,
					),
					"acknowledged",
				);
				return {
					kind: {
						case: "acknowledged",
						value: { acknowledged: result.acknowledged, failures: failuresToProto(result.failures) },
					},
				};
			}
			case "nack": {
				const { items } = nackInput(kind.value, core.context.clock.now(), consumerId);
				const result = await core.queue.nack(consumerId, items);
				session.settled(
					settledReceipts(
						items.map((i) => i.receipt),
						result.failures,
					),
					"nacked",
				);
				return {
					kind: {
						case: "nacked",
						value: {
							requeued: result.requeued,
							deadLettered: result.deadLettered,
							failures: failuresToProto(result.failures),
						},
					},
				};
			}
			case "heartbeat": {
				const { receipts, extendMs } = heartbeatInput(kind.value, consumerId);
				const result = await core.queue.heartbeat(consumerId, receipts, extendMs);
				session.settled(receipts, "heartbeated");
				return {
					kind: {
						case: "heartbeated",
						value: { extended: result.extended, failures: failuresToProto(result.failures) },
					},
				};
			}
			case "hold": {
				const receipts = kind.value.receipts;
				if (receipts.length === 0 || receipts.length > MAX_HOLD) {
					throw ServiceError.invalidField(
						"hold.receipts",
						`${receipts.length} receipts; send 1 to ${MAX_HOLD}`,
					);
				}
				return { kind: { case: "held", value: { held: session.held(receipts) } } };
			}
			case "open":
				throw ServiceError.invalidField("open", "a Consume stream is opened once, by its first message");
			default:
				throw ServiceError.invalidField(
					"kind",
					"must be one of open, credit, acknowledge, nack, heartbeat, hold",
				);
		}
	};

	// Reads the consumer's messages in order; the stream ends when the consumer half-closes.
	const reading = (async () => {
		for (let next = await input.next(); !next.done && !stop.signal.aborted; next = await input.next()) {
			const response = await handle(next.value);
			if (response !== undefined) await out.push(response);
		}
	})()
		.catch((error: unknown) => out.fail(error))
		.finally(() => stop.abort());
	const delivering = session
		.run(stop.signal)
		.catch((error: unknown) => out.fail(error))
		.finally(() => out.close());

	try {
		yield { kind: { case: "opened", value: { consumerId } } };
		for await (const response of out) yield response;
	} finally {
		stop.abort();
		out.close();
		context.signal.removeEventListener("abort", onAbort);
		context.draining.removeEventListener("abort", onDrain);
		await delivering;
		try {
			// Drained with every delivery taken sent (the loop above emptied the channel)
			// and the call not cut: what is in flight stays the consumer's.
			if (drained && !context.signal.aborted) {
				const kept = session.detach();
				if (kept > 0)
					context.logger.info(
						{ consumer_id: consumerId, kept },
						"server draining; deliveries stay in flight",
					);
			} else {
				const released = await session.close();
				if (released > 0)
					context.logger.info({ consumer_id: consumerId, released }, "consumer gone; deliveries returned");
			}
		} finally {
			liveConsumers.delete(consumerId);
			// The reader may be parked on the next request; the transport ends it with the call.
			void reading;
		}
	}
}

/** Receipts of the items that were applied (failed ones stay the consumer's). */
function settledReceipts(receipts: string[], failures: Array<{ index: number }>): string[] {
	if (failures.length === 0) return receipts;
	const failed = new Set(failures.map((f) => f.index));
	return receipts.filter((_, i) => !failed.has(i));
}
