import assert from "node:assert/strict";
import { after, before } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { pino } from "pino";
import { QueueService } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import {
	SchedulerService,
	type StartAttemptResponse,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type GrpcServiceHost, migrate } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { type ServiceProcess, spawnServiceProcess } from "../../../kit/src/testing/process.js";
import {
	createTestSchema,
	deleteRedisNamespace,
	randomSuffix,
	type TestSchema,
	testStores,
} from "../../../kit/src/testing/stores.js";
import { ManualClock } from "../core/clock.js";
import type { SchedulerEngine } from "../core/scheduler-engine.js";
import { schedulerServiceRegistration } from "../rpc/scheduler-service.js";
import { loadSchedulerConfig } from "../scheduler-config.js";
import { SCHEDULER_MIGRATIONS, schedulerEngineFrom } from "../scheduler-module.js";

/** The real queue service in a process of its own, as the scheduler sees it in production. */
export interface QueueProcess {
	process: ServiceProcess;
	url: string;
	/** Stops the process and deletes the keys it made, which live under a namespace of its own. */
	stop(): Promise<void>;
}

/** Starts a queue process on the test Redis, or on `redisUrl`, under a key namespace of its own. */
export async function startQueueProcess(redisUrl?: string): Promise<QueueProcess> {
	const url = redisUrl ?? (await testStores()).redisUrl;
	const namespace = `test:sched:${randomSuffix()}`;
	const env: Record<string, string> = {
		TASKMESH_QUEUE_PORT: "0",
		LOG_LEVEL: "info",
		QUEUE_TELEMETRY: "false",
		GRPC_DRAIN_TIMEOUT_MS: "500",
		REDIS_URL: url,
		QUEUE_REDIS_NAMESPACE: namespace,
	};
	const process = await spawnServiceProcess("services/queue/src/main.ts", { env, expectedServices: 1 });
	const port = [...process.ports.values()][0] as number;
	return {
		process,
		url: `http://127.0.0.1:${port}`,
		async stop() {
			await stopProcess(process);
			await deleteRedisNamespace(url, namespace);
		},
	};
}

/**
 * A suite's queue process and scheduler: started before its tests, handed to
 * `started`, and stopped after them.
 */
export function schedulerSuite(env: Record<string, string>, started: (h: SchedulerHarness) => void): void {
	let queue: QueueProcess | undefined;
	let h: SchedulerHarness | undefined;
	before(async () => {
		queue = await startQueueProcess();
		h = await startScheduler(queue.url, env);
		started(h);
	});
	after(async () => {
		await h?.close();
		await queue?.stop();
	});
}

/** Stops a spawned service and waits for it to exit. */
async function stopProcess(p: ServiceProcess): Promise<void> {
	p.child.kill("SIGTERM");
	await p.exited;
}

/** A scheduler served over gRPC on its own schema, with a manual clock and no background loops. */
export interface SchedulerHarness {
	schema: TestSchema;
	clock: ManualClock;
	engine: SchedulerEngine;
	host: GrpcServiceHost;
	client: Client<typeof SchedulerService>;
	queue: Client<typeof QueueService>;
	/** A second engine on the same schema (another replica); created on demand. */
	replica(): SchedulerEngine;
	close(): Promise<void>;
}

/** Starts a scheduler against a queue service URL. */
export async function startScheduler(
	queueUrl: string,
	env: Record<string, string> = {},
): Promise<SchedulerHarness> {
	await testStores();
	const schema = await createTestSchema("sched");
	await migrate({ pool: schema.pool, schema: schema.schema, directory: SCHEDULER_MIGRATIONS });
	const clock = new ManualClock(Date.now());
	const config = loadSchedulerConfig({
		SCHEDULER_HEARTBEAT_INTERVAL_MS: "1000",
		SCHEDULER_STREAM_POLL_MS: "50",
		...env,
	});
	const logger = pino({ level: "silent" });
	const off = { maintenanceMs: 0, cronMs: 0, reconcileMs: 0 };
	const build = () =>
		schedulerEngineFrom({
			platform: { TASKMESH_QUEUE_URL: queueUrl },
			config,
			pool: schema.pool,
			schema: schema.schema,
			logger,
			clock,
			intervals: off,
		});
	const engine = build();
	const replicas: SchedulerEngine[] = [];
	const host = await startTestServer([schedulerServiceRegistration({ engine, streamPollMs: 50 })]);
	return {
		schema,
		clock,
		engine,
		host,
		client: testClient(SchedulerService, host.url),
		queue: testClient(QueueService, queueUrl),
		replica() {
			const r = build();
			replicas.push(r);
			return r;
		},
		async close() {
			await host.drain();
			for (const r of [engine, ...replicas]) await r.close();
			await schema.drop();
		},
	};
}

/**
 * A second server over the harness's engine with 20 s of drain grace, for tests that
 * a stream ends at a drain instead of holding it open for the grace.
 */
export async function drainingServer(h: SchedulerHarness) {
	const server = await startTestServer(
		[schedulerServiceRegistration({ engine: h.engine, streamPollMs: 50 })],
		{ drainTimeoutMs: 20_000 },
	);
	return {
		server,
		client: testClient(SchedulerService, server.url),
		/** Drains, waits for `streamEnded`, and checks both took well under the grace. */
		async drainPromptly(streamEnded: () => Promise<unknown>): Promise<void> {
			const began = Date.now();
			const drain = server.drain();
			await streamEnded();
			await drain;
			assert.ok(Date.now() - began < 5_000, `the drain took ${Date.now() - began} ms`);
		},
	};
}

/** A JSON value as the payload or output bytes a run carries. */
export const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/** A fresh environment id, so tests sharing a queue never see each other's messages. */
export function newEnvironment(): string {
	return `env_${randomSuffix()}`;
}

/** A development worker that takes runs from the queue the way the SDK's worker does. */
export class TestWorker {
	constructor(
		private readonly h: SchedulerHarness,
		readonly environmentId: string,
		readonly id: string,
	) {}

	/** Registers a development worker for the tasks with the given capacity. */
	static async register(
		h: SchedulerHarness,
		environmentId: string,
		tasks: { id: string; queue?: string; machine?: string }[],
		capacity = { cpu: 8, memoryGb: 16 },
		deploymentVersion = "",
	): Promise<TestWorker> {
		const id = `worker_${randomSuffix()}`;
		await h.client.registerWorker({
			environmentId,
			workerId: id,
			deploymentVersion,
			capacity,
			tasks: tasks.map((t) => ({
				id: t.id,
				queue: t.queue ?? "",
				...(t.machine === undefined
					? {}
					: { machine: { kind: { case: "preset" as const, value: t.machine } } }),
			})),
		});
		return new TestWorker(h, environmentId, id);
	}

	/** Takes up to n deliveries (waiting up to 2 s for the first). */
	async take(n = 1, free?: { cpu: number; memoryGb: number }) {
		const response = await this.h.queue.dequeue({
			consumerId: this.id,
			selectors: [{ environmentId: this.environmentId }],
			maxMessages: n,
			waitTime: durationFromMs(2_000),
			...(free === undefined ? {} : { freeResources: free }),
		});
		return response.deliveries;
	}

	/** Takes one delivery and starts its attempt. */
	async startNext(): Promise<StartAttemptResponse> {
		const [delivery] = await this.take(1);
		if (delivery === undefined) throw new Error("no delivery within 2 s");
		return this.h.client.startAttempt({
			workerId: this.id,
			runId: delivery.message?.metadata?.runId ?? "",
			queueReceipt: delivery.receipt,
		});
	}

	/** Completes an attempt with a JSON output. */
	complete(attemptId: string, output: unknown) {
		return this.completeBytes(attemptId, new TextEncoder().encode(JSON.stringify(output)));
	}

	/** Completes an attempt with output bytes already encoded as JSON. */
	completeBytes(attemptId: string, output: Uint8Array) {
		return this.h.client.completeAttempt({
			workerId: this.id,
			attemptId,
			result: { case: "output", value: { output, outputType: "application/json" } },
		});
	}

	/** Fails an attempt. */
	fail(attemptId: string, retryable: boolean, message = "boom") {
		return this.h.client.completeAttempt({
			workerId: this.id,
			attemptId,
			result: { case: "error", value: { name: "Error", message, retryable } },
		});
	}
}
