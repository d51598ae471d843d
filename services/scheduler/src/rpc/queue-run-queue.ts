import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import {
	AckReason,
	type EnqueueStreamRequestSchema,
	type EnqueueStreamResponse,
	type QueueService,
	type SettleStreamRequestSchema,
	type SettleStreamResponse,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { connectErrorOfStatus, OrderedStreamClient } from "../../../kit/src/index.js";
import type { DeliveryOutcome, RunMessage, RunQueue, Settlement } from "../core/run-queue.js";
import { enqueueStreamRequestOf } from "./enqueue-encoding.js";

const REASONS: Record<DeliveryOutcome, AckReason> = {
	COMPLETED: AckReason.COMPLETED,
	FAILED_WILL_RETRY: AckReason.FAILED_WILL_RETRY,
	FAILED_PERMANENT: AckReason.FAILED_PERMANENT,
	CANCELED: AckReason.CANCELED,
	EXPIRED: AckReason.EXPIRED,
	TIMED_OUT: AckReason.TIMED_OUT,
	CRASHED: AckReason.CRASHED,
	REJECTED: AckReason.REJECTED,
};

/** The queue's enqueue and settle requests take at most this many items each. */
const MAX_ENQUEUE = 1_000;

/**
 * The run engine's queue, over the QueueService gRPC client. A message's payload
 * is only a small JSON pointer to the run: the run itself stays in PostgreSQL, so
 * the queue's payload limit never constrains run payloads. Messages go on one
 * long-lived EnqueueStream and settlements on one SettleStream: runs are
 * triggered and completed a few at a time, and a request on an open stream costs
 * both services a fraction of a unary call.
 */
export class QueueClientRunQueue implements RunQueue {
	private readonly producer: OrderedStreamClient<
		MessageInitShape<typeof EnqueueStreamRequestSchema>,
		EnqueueStreamResponse
	>;
	private readonly settler: OrderedStreamClient<
		MessageInitShape<typeof SettleStreamRequestSchema>,
		SettleStreamResponse
	>;

	constructor(client: Client<typeof QueueService>) {
		this.producer = new OrderedStreamClient((requests) => client.enqueueStream(requests));
		this.settler = new OrderedStreamClient((requests) => client.settleStream(requests));
	}

	/** Enqueues in requests of up to 1,000 messages, side by side on the stream. */
	async enqueue(messages: RunMessage[]): Promise<void> {
		const calls: Promise<unknown>[] = [];
		for (let i = 0; i < messages.length; i += MAX_ENQUEUE) {
			calls.push(
				this.producer.send(enqueueStreamRequestOf(messages.slice(i, i + MAX_ENQUEUE))).then(refusalThrown),
			);
		}
		await Promise.all(calls);
	}

	/** Ends the enqueue and settle streams. */
	close(): void {
		this.producer.close();
		this.settler.close();
	}

	/** Acknowledges and nacks, grouped by consumer; stale receipts are ignored. */
	async settle(settlements: Settlement[]): Promise<void> {
		const byConsumer = new Map<string, Settlement[]>();
		// The queue refuses a request naming one receipt twice; the first settlement of a
		// delivery is the one that counts.
		const receipts = new Set<string>();
		for (const s of settlements) {
			if (receipts.has(s.receipt)) continue;
			receipts.add(s.receipt);
			byConsumer.set(s.consumerId, [...(byConsumer.get(s.consumerId) ?? []), s]);
		}
		const calls: Promise<unknown>[] = [];
		for (const [consumerId, items] of byConsumer) {
			const acks = items.flatMap((s) =>
				s.kind === "ack"
					? [{ receipt: s.receipt, reason: REASONS[s.outcome], detail: s.detail.slice(0, 1024) }]
					: [],
			);
			const nacks = items.flatMap((s) =>
				s.kind === "nack" ? [{ receipt: s.receipt, detail: s.detail.slice(0, 1024) }] : [],
			);
			// The stream lists stale receipts per item instead of failing, which is what the scheduler wants.
			for (let i = 0; i < acks.length; i += MAX_ENQUEUE) {
				const acknowledgements = acks.slice(i, i + MAX_ENQUEUE);
				calls.push(
					this.settler
						.send({ kind: { case: "acknowledge", value: { consumerId, acknowledgements } } })
						.then(settleRefusalThrown),
				);
			}
			for (let i = 0; i < nacks.length; i += MAX_ENQUEUE) {
				const nackItems = nacks.slice(i, i + MAX_ENQUEUE);
				calls.push(
					this.settler
						.send({ kind: { case: "nack", value: { consumerId, items: nackItems } } })
						.then(settleRefusalThrown),
				);
			}
		}
		await Promise.all(calls);
	}
}

/** A request the queue refused is answered with its status; it fails as a unary Enqueue would. */
function refusalThrown(response: EnqueueStreamResponse): void {
	if (response.error !== undefined) throw connectErrorOfStatus(response.error);
}

/** A settle request the queue refused fails as a unary Acknowledge or Nack would. */
function settleRefusalThrown(response: SettleStreamResponse): void {
	if (response.result.case === "error") throw connectErrorOfStatus(response.result.value);
}
