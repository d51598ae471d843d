import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ConsumeRequestSchema, Delivery } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { Clients } from "../client/clients.js";
import { AsyncChannel } from "./async-channel.js";
import type { Resources } from "./resource-ledger.js";

/** What the consumer stream tells its owner. */
export interface ConsumerEvents {
	deliveries(deliveries: Delivery[]): void;
	/** The stream ended or failed; in-flight deliveries went back to the queue. */
	closed(error: unknown): void;
}

/**
 * One QueueService.Consume stream: opens with the worker's selector, grants
 * credits with the free resources, and sends nacks and delivery heartbeats.
 */
export class ConsumerStream {
	private readonly requests = new AsyncChannel<MessageInitShape<typeof ConsumeRequestSchema>>();
	private readonly abort = new AbortController();
	private done: Promise<void> | undefined;

	constructor(
		private readonly options: {
			clients: Clients;
			consumerId: string;
			queues?: string[];
			events: ConsumerEvents;
		},
	) {}

	/** Opens the stream with initial credits. */
	open(credits: number, free: Resources): void {
		const { clients, consumerId } = this.options;
		this.requests.push({
			kind: {
				case: "open",
				value: {
					consumerId,
					selectors: [{ environmentId: clients.environmentId, queues: this.options.queues ?? [] }],
					freeResources: free,
				},
			},
		});
		if (credits > 0) this.credit(credits, free);
		this.done = (async () => {
			let failure: unknown;
			try {
				for await (const response of clients.queue.consume(this.requests, { signal: this.abort.signal })) {
					if (response.kind.case === "deliveries" && response.kind.value.deliveries.length > 0) {
						this.options.events.deliveries(response.kind.value.deliveries);
					}
				}
			} catch (error) {
				failure = error;
			}
			this.options.events.closed(failure);
		})();
	}

	/** Grants more credits and states the free resources. */
	credit(credits: number, free: Resources): void {
		this.requests.push({ kind: { case: "credit", value: { credits, freeResources: free } } });
	}

	/** Gives deliveries back to their queue at once. */
	nack(receipts: string[], detail: string): void {
		if (receipts.length === 0) return;
		this.requests.push({
			kind: {
				case: "nack",
				value: {
					consumerId: this.options.consumerId,
					items: receipts.map((receipt) => ({ receipt, detail })),
				},
			},
		});
	}

	/** Extends the visibility of deliveries still being worked on. */
	heartbeat(receipts: string[]): void {
		if (receipts.length === 0) return;
		this.requests.push({
			kind: { case: "heartbeat", value: { consumerId: this.options.consumerId, receipts } },
		});
	}

	/** Keeps deliveries in flight when this stream ends (their attempts started; the scheduler settles them). */
	hold(receipts: string[]): void {
		if (receipts.length === 0) return;
		this.requests.push({ kind: { case: "hold", value: { receipts } } });
	}

	/** Ends the stream; the queue returns anything still in flight. */
	async close(): Promise<void> {
		this.requests.end();
		const timer = setTimeout(() => this.abort.abort(), 5000);
		await this.done;
		clearTimeout(timer);
	}
}
