/**
 * The transport floor of bench:queue's latency test: an "empty" QueueService that
 * stores nothing. It serves Enqueue, EnqueueStream and Consume on the same gRPC server,
 * with the same hand-written codecs and the same request checks as the queue
 * service, and hands each message straight from the producer's stream to the
 * open Consume stream (in memory, no Redis). Run in its own process by
 * bench/queue-taskmesh.ts, between the same producer and consumer processes, it
 * measures what the topology itself costs — two gRPC hops through a third
 * process — so the queue's own share of the latency can be read beside it.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
	type ConsumeRequest,
	type ConsumeResponseSchema,
	QueueService,
} from "../gen/taskmesh/queue/v1/queue_pb.js";
import {
	AsyncChannel,
	mainOf,
	orderedAnswers,
	registration,
	ServiceError,
	type ServiceImplementation,
	type ServiceModule,
} from "../services/kit/src/index.js";
import type { Delivery, NewMessage } from "../services/queue/src/core/types.js";
import { enqueueInput } from "../services/queue/src/rpc/enqueue-input.js";
import {
	deliveryBatchResponse,
	enqueueResponse,
	enqueueStreamResponse,
} from "../services/queue/src/rpc/response-encoding.js";
import { queueWireCodecs } from "../services/queue/src/rpc/wire-codecs.js";

type Response = MessageInitShape<typeof ConsumeResponseSchema>;

const MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The one open consumer: its outgoing channel and the credits it has granted. */
interface OpenConsumer {
	out: AsyncChannel<Response>;
	credits: number;
}

/** Messages in memory, handed to the open consumer as its credits allow. */
class Relay {
	private consumer: OpenConsumer | undefined;
	private readonly waiting: Delivery[] = [];
	private receipts = 0;

	open(consumer: OpenConsumer): void {
		this.consumer = consumer;
		this.flush();
	}

	close(consumer: OpenConsumer): void {
		if (this.consumer === consumer) this.consumer = undefined;
	}

	credit(consumer: OpenConsumer, credits: number): void {
		consumer.credits += credits;
		this.flush();
	}

	add(messages: NewMessage[], now: number): void {
		for (const m of messages) {
			this.waiting.push({
				message: {
					...m,
					payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength),
					enqueuedAt: now,
					availableAt: m.availableAt ?? now,
					resources: m.resources ?? { cpu: 0, memoryGb: 0 },
					nackCount: 0,
				},
				receipt: `r${(this.receipts++).toString(36)}`,
				deliveryCount: 1,
				visibleUntil: now + 30_000,
			});
		}
		this.flush();
	}

	private flush(): void {
		const consumer = this.consumer;
		if (consumer === undefined || consumer.credits <= 0 || this.waiting.length === 0) return;
		const batch = this.waiting.splice(0, consumer.credits);
		consumer.credits -= batch.length;
		void consumer.out.push(deliveryBatchResponse(batch));
	}
}

function unimplemented(): never {
	throw new ServiceError("FAILED_PRECONDITION", "the relay serves Enqueue, EnqueueStream and Consume only");
}

const relayModule: ServiceModule = {
	name: "queue",
	async start() {
		const relay = new Relay();
		const implementation = {
			async enqueue(request) {
				const messages = enqueueInput(request, MAX_PAYLOAD_BYTES, Date.now());
				relay.add(messages, Date.now());
				return enqueueResponse(
					messages.map((m) => m.id),
					messages.map(() => false),
				);
			},
			enqueueStream(requests, context) {
				return orderedAnswers(
					requests,
					context,
					async (request, sequence) => {
						const messages = enqueueInput(request, MAX_PAYLOAD_BYTES, Date.now());
						relay.add(messages, Date.now());
						return enqueueStreamResponse(
							sequence,
							messages.map((m) => m.id),
							messages.map(() => false),
						);
					},
					(sequence, error) => ({
						$typeName: "taskmesh.queue.v1.EnqueueStreamResponse",
						sequence,
						results: [],
						error,
					}),
				);
			},
			async *consume(requests: AsyncIterable<ConsumeRequest>) {
				const input = requests[Symbol.asyncIterator]();
				const first = await input.next();
				if (first.done || first.value.kind.case !== "open") return;
				const consumerId = first.value.kind.value.consumerId;
				const consumer: OpenConsumer = { out: new AsyncChannel<Response>(16), credits: 0 };
				relay.open(consumer);
				const reading = (async () => {
					for (let next = await input.next(); !next.done; next = await input.next()) {
						const kind = next.value.kind;
						if (kind.case === "credit") relay.credit(consumer, kind.value.credits);
						else if (kind.case === "acknowledge") {
							const acknowledged = kind.value.acknowledgements.length;
							await consumer.out.push({ kind: { case: "acknowledged", value: { acknowledged } } });
						}
					}
				})().finally(() => consumer.out.close());
				try {
					yield { kind: { case: "opened", value: { consumerId } } };
					for await (const response of consumer.out) yield response;
				} finally {
					relay.close(consumer);
					void reading;
				}
			},
		} as Partial<ServiceImplementation<typeof QueueService>>;
		const full = new Proxy(implementation, {
			get: (target, name) => (target as Record<string | symbol, unknown>)[name] ?? unimplemented,
		}) as ServiceImplementation<typeof QueueService>;
		return { services: [registration(QueueService, full, queueWireCodecs)], close: async () => {} };
	},
};

await mainOf([relayModule], "bench-queue-relay");
