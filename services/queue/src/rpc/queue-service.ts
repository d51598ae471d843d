import { QueueService } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import {
	isServiceError,
	registration,
	ServiceError,
	type ServiceImplementation,
	type ServiceRegistration,
} from "../../../kit/src/index.js";
import { dequeueWaiting } from "../core/dequeue-waiting.js";
import type { QueueCore } from "../core/queue-core.js";
import type { ItemFailure, QueueSettings } from "../core/types.js";
import type { QueueConfig } from "../queue-config.js";
import { consumeStream } from "./consume-stream.js";
import { resourcesOf, selectorsOf } from "./consumer-input.js";
import { enqueueInput } from "./enqueue-input.js";
import { enqueueStream } from "./enqueue-stream.js";
import { deadLetterToProto, deliveryToProto, failuresToProto, queueToProto } from "./proto-convert.js";
import { enqueueResponse } from "./response-encoding.js";
import { acknowledgeInput, heartbeatInput, nackInput } from "./settle-input.js";
import { settleStream } from "./settle-stream.js";
import { MAX_BATCH, MAX_VISIBILITY_MS, Violations } from "./violations.js";
import { queueWireCodecs } from "./wire-codecs.js";

/** What the gRPC adapter is built from. */
export interface QueueServiceOptions {
	core: QueueCore;
	config: QueueConfig;
}

/** The one failure of a one-item call becomes the call's status, as the contract says. */
function failSingle(count: number, failures: ItemFailure[]): void {
	const only = failures[0];
	if (count === 1 && only !== undefined) throw new ServiceError(only.code, only.message);
}

function pageSizeOf(v: Violations, value: number, max: number): number {
	v.range("page_size", value, 0, max);
	return value === 0 ? 100 : value;
}

/**
 * The QueueService over gRPC: validates each request whole (INVALID_ARGUMENT
 * before anything is stored), converts between the wire and the core, and
 * maps per-item outcomes to the contract's failure rules.
 */
export function queueServiceRegistration(options: QueueServiceOptions): ServiceRegistration {
	const { core, config } = options;
	const { queue, catalog } = core;
	const clock = core.context.clock;
	// Consumer ids with an open stream on this server; one id is one live consumer.
	const liveConsumers = new Set<string>();

	const implementation: ServiceImplementation<typeof QueueService> = {
		async enqueue(request) {
			const messages = enqueueInput(request, config.QUEUE_MAX_PAYLOAD_BYTES, clock.now());
			const duplicates = await queue.enqueue(messages);
			return enqueueResponse(
				messages.map((m) => m.id),
				duplicates,
			);
		},

		enqueueStream(requests, context) {
			return enqueueStream(requests, context, {
				queue,
				clock,
				maxPayloadBytes: config.QUEUE_MAX_PAYLOAD_BYTES,
			});
		},

		async dequeue(request, context) {
			const v = new Violations();
			v.ident("consumer_id", request.consumerId, true);
			const selectors = selectorsOf(v, request.selectors);
			v.range("max_messages", request.maxMessages, 1, MAX_BATCH);
			const free = resourcesOf(v, "free_resources", request.freeResources);
			const visibilityMs = v.duration(
				"visibility_timeout",
				request.visibilityTimeout,
				1000,
				MAX_VISIBILITY_MS,
			);
			const waitMs = v.duration("wait_time", request.waitTime, 0, 20_000) ?? 0;
			v.throwIfAny();
			const result = await dequeueWaiting(
				queue,
				{
					consumerId: request.consumerId,
					selectors,
					max: request.maxMessages,
					...(free === undefined ? {} : { free }),
					...(visibilityMs === undefined ? {} : { visibilityMs }),
				},
				waitMs,
				context.signal,
			);
			return { deliveries: result.deliveries.map(deliveryToProto) };
		},

		consume(requests, context) {
			return consumeStream(requests, context, { core, config, liveConsumers });
		},

		async acknowledge(request) {
			const { consumerId, items } = acknowledgeInput(request);
			const result = await queue.acknowledge(consumerId, items);
			failSingle(items.length, result.failures);
			return { acknowledged: result.acknowledged, failures: failuresToProto(result.failures) };
		},

		async nack(request) {
			const { consumerId, items } = nackInput(request, clock.now());
			const result = await queue.nack(consumerId, items);
			failSingle(items.length, result.failures);
			return {
				requeued: result.requeued,
				deadLettered: result.deadLettered,
				failures: failuresToProto(result.failures),
			};
		},

		settleStream(requests, context) {
			return settleStream(requests, context, { queue, clock });
		},

		async heartbeat(request) {
			const { consumerId, receipts, extendMs } = heartbeatInput(request);
			const result = await queue.heartbeat(consumerId, receipts, extendMs);
			failSingle(receipts.length, result.failures);
			return { extended: result.extended, failures: failuresToProto(result.failures) };
		},

		async getQueue(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			v.name("queue", request.queue);
			v.throwIfAny();
			return { queue: queueToProto(await catalog.getQueue(request.environmentId, request.queue)) };
		},

		async listQueues(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			const pageSize = pageSizeOf(v, request.pageSize, 500);
			if (request.pageToken !== "") v.name("page_token", request.pageToken);
			v.throwIfAny();
			const page = await catalog.listQueues(request.environmentId, pageSize, request.pageToken);
			return {
				queues: page.queues.map(queueToProto),
				nextPageToken: page.nextPageToken,
				environmentConcurrencyLimit: page.environmentConcurrencyLimit,
				environmentInFlight: BigInt(page.environmentInFlight),
			};
		},

		async updateQueue(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			v.name("queue", request.queue);
			if (request.concurrencyLimit !== undefined)
				v.range("concurrency_limit", request.concurrencyLimit, 0, 1_000_000);
			if (request.concurrencyKeyLimit !== undefined) {
				v.range("concurrency_key_limit", request.concurrencyKeyLimit, 0, 1_000_000);
			}
			if (request.maxNacks !== undefined) v.range("max_nacks", request.maxNacks, 1, 1_000);
			const visibilityTimeoutMs = v.duration(
				"visibility_timeout",
				request.visibilityTimeout,
				1000,
				MAX_VISIBILITY_MS,
			);
			v.throwIfAny();
			const current = await currentSettings(request.environmentId, request.queue);
			const limit = request.concurrencyLimit ?? current.concurrencyLimit;
			const keyLimit = request.concurrencyKeyLimit ?? current.concurrencyKeyLimit;
			// A key limit at or above the queue's would let one tenant take the whole queue.
			if (limit > 1 && keyLimit >= limit) {
				v.add(
					"concurrency_key_limit",
					`${keyLimit} must be below the queue's concurrency_limit of ${limit}, so one key cannot take the whole queue`,
				);
			}
			v.throwIfAny();
			await queue.registerEnvironment(request.environmentId);
			const updated = await catalog.updateQueue(request.environmentId, request.queue, {
				...(request.paused === undefined ? {} : { paused: request.paused }),
				...(request.concurrencyLimit === undefined ? {} : { concurrencyLimit: request.concurrencyLimit }),
				...(request.concurrencyKeyLimit === undefined
					? {}
					: { concurrencyKeyLimit: request.concurrencyKeyLimit }),
				...(request.maxNacks === undefined ? {} : { maxNacks: request.maxNacks }),
				...(visibilityTimeoutMs === undefined ? {} : { visibilityTimeoutMs }),
			});
			return { queue: queueToProto(updated) };
		},

		async updateEnvironment(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			v.range("concurrency_limit", request.concurrencyLimit, 0, 1_000_000);
			v.throwIfAny();
			return {
				concurrencyLimit: await catalog.updateEnvironment(request.environmentId, request.concurrencyLimit),
			};
		},

		async listDeadLetters(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			v.name("queue", request.queue);
			const pageSize = pageSizeOf(v, request.pageSize, 500);
			if (request.pageToken !== "" && !/^\d{1,9}$/.test(request.pageToken)) {
				v.add("page_token", "is not a token ListDeadLetters returned");
			}
			v.throwIfAny();
			const page = await catalog.listDeadLetters(
				request.environmentId,
				request.queue,
				pageSize,
				request.pageToken,
			);
			return { deadLetters: page.items.map(deadLetterToProto), nextPageToken: page.nextPageToken };
		},

		async redrive(request) {
			const v = new Violations();
			v.name("environment_id", request.environmentId);
			v.name("queue", request.queue);
			if (request.messageIds.length > MAX_BATCH) {
				v.add("message_ids", `${request.messageIds.length} ids is over the limit of ${MAX_BATCH}`);
			}
			for (const [i, id] of request.messageIds.entries()) v.ident(`message_ids[${i}]`, id, true);
			v.range("limit", request.limit, 0, MAX_BATCH);
			v.throwIfAny();
			const limit = request.limit === 0 ? MAX_BATCH : request.limit;
			return {
				redriven: await catalog.redrive(request.environmentId, request.queue, request.messageIds, limit),
			};
		},
	};

	async function currentSettings(environmentId: string, name: string): Promise<QueueSettings> {
		try {
			return (await catalog.getQueue(environmentId, name)).settings;
		} catch (error) {
			if (isServiceError(error) && error.code === "NOT_FOUND") {
				return {
					paused: false,
					concurrencyLimit: config.QUEUE_DEFAULT_CONCURRENCY_LIMIT,
					concurrencyKeyLimit: 0,
					maxNacks: config.QUEUE_DEFAULT_MAX_NACKS,
					visibilityTimeoutMs: config.QUEUE_DEFAULT_VISIBILITY_TIMEOUT_MS,
				};
			}
			throw error;
		}
	}

	return registration(QueueService, implementation, queueWireCodecs);
}
