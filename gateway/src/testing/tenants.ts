import type { Client } from "@connectrpc/connect";
import { type Code, ConnectError } from "@connectrpc/connect";
import { BatchService } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { LogIngestService } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	ExporterRegistryService,
	TelemetryService,
} from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { testClient } from "../../../services/kit/src/testing/grpc.js";
import type { TestKey } from "./gateway-platform.js";
import { gatewayClient } from "./http-calls.js";

/** One environment's clients of every public service, through the gateway. */
export interface Tenant {
	key: TestKey;
	scheduler: Client<typeof SchedulerService>;
	batch: Client<typeof BatchService>;
	queue: Client<typeof QueueService>;
	logs: Client<typeof LogIngestService>;
	telemetry: Client<typeof TelemetryService>;
	exporters: Client<typeof ExporterRegistryService>;
}

/** Clients of every public service for one key. */
export function tenantOf(url: string, key: TestKey): Tenant {
	return {
		key,
		scheduler: gatewayClient(SchedulerService, url, key.key),
		batch: gatewayClient(BatchService, url, key.key),
		queue: gatewayClient(QueueService, url, key.key),
		logs: gatewayClient(LogIngestService, url, key.key),
		telemetry: gatewayClient(TelemetryService, url, key.key),
		exporters: gatewayClient(ExporterRegistryService, url, key.key),
	};
}

/** The code a call ended with, or "OK". */
export async function codeOf(call: Promise<unknown> | (() => Promise<unknown>)): Promise<Code | "OK"> {
	try {
		await (typeof call === "function" ? call() : call);
		return "OK";
	} catch (error) {
		return ConnectError.from(error).code;
	}
}

/** Every message of a server stream. */
export async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
	const items: T[] = [];
	for await (const item of stream) items.push(item);
	return items;
}

/** A client stream of one message. */
export async function* once<T>(value: T) {
	yield value;
}

/** A request of a type that names an environment wherever the type has one. */
export function requestNaming(typeName: string, environmentId: string): unknown {
	switch (typeName) {
		case "taskmesh.batch.v1.StreamBatchItemsRequest":
			return { kind: { case: "header", value: { environmentId, batchId: "x" } } };
		case "taskmesh.logs.v1.IngestRequest":
			return { chunks: [{ environmentId, messageId: "x", runId: "x" }] };
		case "taskmesh.scheduler.v1.TriggerStreamRequest":
			return { run: { environmentId, taskId: "hello" } };
		default:
			return { environmentId };
	}
}

/** Enqueues one message and nacks each delivery of it, so the queue dead-letters it. */
export async function makeDeadLetter(
	url: string,
	environmentId: string,
	queue: string,
	id: string,
): Promise<void> {
	const direct = testClient(QueueService, url);
	await direct.enqueue({ messages: [{ id, environmentId, queue, payload: Buffer.from("x") }] });
	for (let i = 0; i < 5; i++) {
		const { deliveries } = await direct.dequeue({
			consumerId: "c1",
			selectors: [{ environmentId, queues: [queue] }],
			maxMessages: 1,
		});
		if (deliveries.length === 0) return;
		await direct.nack({ consumerId: "c1", items: deliveries.map((d) => ({ receipt: d.receipt })) });
	}
}
