import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ItemFailureSchema } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import type {
	DeadLetterSchema,
	Delivery as DeliveryMessage,
	QueueMessage,
	QueueSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { DeadLetter, Delivery, ItemFailure, QueueInfo, StoredMessage } from "../core/types.js";

/** google.rpc.Code numbers of the item failure codes. */
const CODE = { NOT_FOUND: 5, FAILED_PRECONDITION: 9 } as const;

/**
 * A stored message on the wire, built as a complete message (with its type
 * name) rather than an init shape: the delivery path sends tens of thousands
 * per second, and a complete message skips protobuf-es's copy into a new one.
 * Empty resources and metadata are left out.
 */
export function messageToProto(m: StoredMessage): QueueMessage {
	const { resources, metadata } = m;
	const hasMetadata =
		metadata.runId !== "" || metadata.taskId !== "" || metadata.attempt !== 0 || hasKeys(metadata.labels);
	return {
		$typeName: "taskmesh.queue.v1.QueueMessage",
		id: m.id,
		environmentId: m.environmentId,
		queue: m.queue,
		concurrencyKey: m.concurrencyKey,
		payload: m.payload,
		priority: m.priority,
		enqueuedAt: timestamp(m.enqueuedAt),
		availableAt: timestamp(m.availableAt),
		resources:
			resources.cpu === 0 && resources.memoryGb === 0
				? undefined
				: { $typeName: "taskmesh.common.v1.Resources", cpu: resources.cpu, memoryGb: resources.memoryGb },
		metadata: hasMetadata
			? {
					$typeName: "taskmesh.queue.v1.MessageMetadata",
					runId: metadata.runId,
					taskId: metadata.taskId,
					attempt: metadata.attempt,
					labels: metadata.labels,
				}
			: undefined,
		nackCount: m.nackCount,
	};
}

/** A Timestamp as a complete message; timestampFromMs goes through create() each time. */
function timestamp(ms: number): Timestamp {
	const seconds = Math.floor(ms / 1000);
	return {
		$typeName: "google.protobuf.Timestamp",
		seconds: BigInt(seconds),
		nanos: Math.round((ms - seconds * 1000) * 1_000_000),
	};
}

function hasKeys(record: Record<string, string>): boolean {
	for (const _ in record) return true;
	return false;
}

/** A delivery on the wire, as a complete message (see messageToProto). */
export function deliveryToProto(d: Delivery): DeliveryMessage {
	return {
		$typeName: "taskmesh.queue.v1.Delivery",
		message: messageToProto(d.message),
		receipt: d.receipt,
		deliveryCount: d.deliveryCount,
		visibleUntil: timestamp(d.visibleUntil),
	};
}

/** Item failures on the wire. */
export function failuresToProto(failures: ItemFailure[]): Array<MessageInitShape<typeof ItemFailureSchema>> {
	return failures.map((f) => ({ index: f.index, id: f.id, code: CODE[f.code], message: f.message }));
}

/** A queue with its settings and numbers on the wire. */
export function queueToProto(q: QueueInfo): MessageInitShape<typeof QueueSchema> {
	return {
		environmentId: q.environmentId,
		name: q.name,
		paused: q.settings.paused,
		limits: {
			concurrencyLimit: q.settings.concurrencyLimit,
			concurrencyKeyLimit: q.settings.concurrencyKeyLimit,
			maxNacks: q.settings.maxNacks,
			visibilityTimeout: durationFromMs(q.settings.visibilityTimeoutMs),
		},
		stats: {
			depth: BigInt(q.stats.depth),
			inFlight: BigInt(q.stats.inFlight),
			delayed: BigInt(q.stats.delayed),
			deadLettered: BigInt(q.stats.deadLettered),
			oldestAge: durationFromMs(q.stats.oldestAgeMs),
			acknowledgements: [...q.stats.acknowledgements]
				.sort((a, b) => a[0] - b[0])
				.map(([reason, count]) => ({ reason, count: BigInt(count) })),
		},
	};
}

/** A dead letter on the wire. */
export function deadLetterToProto(d: DeadLetter): MessageInitShape<typeof DeadLetterSchema> {
	return {
		message: messageToProto(d.message),
		reason: d.reason,
		detail: d.detail,
		deadLetteredAt: timestampFromMs(d.deadLetteredAt),
	};
}
