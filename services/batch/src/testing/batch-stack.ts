import { after, before } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import pg from "pg";
import { pino } from "pino";
import { BatchService } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { QueueService } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type GrpcServiceHost, loadPlatformConfig } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { type ServiceProcess, spawnServiceProcess } from "../../../kit/src/testing/process.js";
import { deleteRedisNamespace, randomSuffix, testStores } from "../../../kit/src/testing/stores.js";
import { loadBatchConfig } from "../batch-config.js";
import { startBatchService } from "../batch-module.js";
import { header, ItemStream } from "./item-stream.js";

/** The real queue and scheduler in processes of their own, as the batch service meets them. */
export interface RunEngineProcesses {
	queue: ServiceProcess;
	scheduler: ServiceProcess;
	queueUrl: string;
	schedulerUrl: string;
	databaseUrl: string;
	redisUrl: string;
	schedulerSchema: string;
	/** The queue's Redis key namespace, its own per engine. */
	queueNamespace: string;
	close(): Promise<void>;
}

function urlOf(p: ServiceProcess): string {
	return `http://127.0.0.1:${[...p.ports.values()][0] as number}`;
}

/**
 * Spawns the queue, then the scheduler pointed at it, each on a schema or namespace
 * of its own; schedulerEnv sets the scheduler's own limits where a test needs them.
 */
export async function startRunEngine(schedulerEnv: Record<string, string> = {}): Promise<RunEngineProcesses> {
	const { databaseUrl, redisUrl } = await testStores();
	const queueNamespace = `test:batch:${randomSuffix()}`;
	const queue = await spawnServiceProcess("services/queue/src/main.ts", {
		env: {
			TASKMESH_QUEUE_PORT: "0",
			REDIS_URL: redisUrl,
			QUEUE_TELEMETRY: "false",
			QUEUE_REDIS_NAMESPACE: queueNamespace,
		},
		expectedServices: 1,
	});
	const schedulerSchema = `sched_${randomSuffix()}`;
	const scheduler = await spawnServiceProcess("services/scheduler/src/main.ts", {
		env: {
			TASKMESH_SCHEDULER_PORT: "0",
			DATABASE_URL: databaseUrl,
			TASKMESH_QUEUE_URL: urlOf(queue),
			SCHEDULER_DATABASE_SCHEMA: schedulerSchema,
			SCHEDULER_STREAM_POLL_MS: "50",
			...schedulerEnv,
		},
		expectedServices: 1,
	});
	return {
		queue,
		scheduler,
		queueUrl: urlOf(queue),
		schedulerUrl: urlOf(scheduler),
		databaseUrl,
		redisUrl,
		schedulerSchema,
		queueNamespace,
		async close() {
			for (const p of [scheduler, queue]) {
				p.child.kill("SIGTERM");
				await p.exited;
			}
			await dropSchema(databaseUrl, schedulerSchema);
			await deleteRedisNamespace(redisUrl, queueNamespace);
		},
	};
}

/** Drops a schema made for a test. */
export async function dropSchema(databaseUrl: string, schema: string): Promise<void> {
	const admin = new pg.Client({ connectionString: databaseUrl });
	await admin.connect();
	try {
		await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	} finally {
		await admin.end();
	}
}

/** The variables a batch service under test runs with. */
export function batchEnv(engine: RunEngineProcesses, schema: string, extra: Record<string, string> = {}) {
	return {
		DATABASE_URL: engine.databaseUrl,
		TASKMESH_SCHEDULER_URL: engine.schedulerUrl,
		BATCH_DATABASE_SCHEMA: schema,
		BATCH_SWEEP_INTERVAL_MS: "100",
		BATCH_WATCH_POLL_MS: "200",
		...extra,
	};
}

/** A batch service served in this process over a real gRPC server, on a schema of its own. */
export interface BatchUnderTest {
	host: GrpcServiceHost;
	client: Client<typeof BatchService>;
	schema: string;
	close(): Promise<void>;
}

/**
 * Starts the batch service as its module does, with the given extra variables.
 * With `replicaOf` it shares another instance's schema (a second replica) and leaves it in place on close.
 */
export async function startBatch(
	engine: RunEngineProcesses,
	extra: Record<string, string> = {},
	replicaOf?: BatchUnderTest,
): Promise<BatchUnderTest> {
	const schema = replicaOf?.schema ?? `batch_${randomSuffix()}`;
	const env = batchEnv(engine, schema, extra);
	const started = await startBatchService({
		platform: loadPlatformConfig(env),
		config: loadBatchConfig(env),
		logger: pino({ level: "silent" }),
	});
	const host = await startTestServer(started.services);
	return {
		host,
		client: testClient(BatchService, host.url),
		schema,
		async close() {
			await host.drain();
			await started.close();
			if (replicaOf === undefined) await dropSchema(engine.databaseUrl, schema);
		},
	};
}

/** A fresh environment id, so tests sharing the queue never see each other's runs. */
export function newEnvironment(): string {
	return `env_${randomSuffix()}`;
}

/** Plays the worker: takes runs from the queue and reports their outcomes to the scheduler. */
export class TestWorker {
	readonly scheduler: Client<typeof SchedulerService>;
	readonly queue: Client<typeof QueueService>;

	private constructor(
		engine: RunEngineProcesses,
		readonly environmentId: string,
		readonly id: string,
	) {
		this.scheduler = testClient(SchedulerService, engine.schedulerUrl);
		this.queue = testClient(QueueService, engine.queueUrl);
	}

	/** Registers a development worker for these tasks. */
	static async register(
		engine: RunEngineProcesses,
		environmentId: string,
		taskIds: string[],
	): Promise<TestWorker> {
		const worker = new TestWorker(engine, environmentId, `worker_${randomSuffix()}`);
		await worker.scheduler.registerWorker({
			environmentId,
			workerId: worker.id,
			capacity: { cpu: 10_000, memoryGb: 10_000 },
			tasks: taskIds.map((id) => ({ id })),
		});
		return worker;
	}

	/** Takes up to n deliveries and starts their attempts; returns run id, task id and attempt id of each. */
	async start(n: number, waitMs = 2_000) {
		const { deliveries } = await this.queue.dequeue({
			consumerId: this.id,
			selectors: [{ environmentId: this.environmentId }],
			maxMessages: n,
			waitTime: durationFromMs(waitMs),
		});
		const started = [];
		for (const delivery of deliveries) {
			const response = await this.scheduler.startAttempt({
				workerId: this.id,
				runId: delivery.message?.metadata?.runId ?? "",
				queueReceipt: delivery.receipt,
			});
			started.push({
				runId: response.run?.id ?? "",
				taskId: response.run?.taskId ?? "",
				payload: new TextDecoder().decode(response.run?.payload),
				attemptId: response.attempt?.id ?? "",
				resumed: response.resumed,
				resolvedWaits: response.resolvedWaits,
			});
		}
		return started;
	}

	/** Completes an attempt with a JSON output. */
	async complete(attemptId: string, output: unknown): Promise<void> {
		await this.scheduler.completeAttempt({
			workerId: this.id,
			attemptId,
			result: {
				case: "output",
				value: { output: new TextEncoder().encode(JSON.stringify(output)), outputType: "application/json" },
			},
		});
	}

	/** Fails an attempt for good (not retryable). */
	async fail(attemptId: string, message: string): Promise<void> {
		await this.scheduler.completeAttempt({
			workerId: this.id,
			attemptId,
			result: { case: "error", value: { name: "Error", message, retryable: false } },
		});
	}

	/** Runs every delivery of `taskId` until `count` have finished, echoing each payload as the output. */
	async finish(count: number, taskId: string): Promise<void> {
		let done = 0;
		while (done < count) {
			const started = await this.start(Math.min(500, count - done));
			for (const s of started) {
				if (s.taskId !== taskId) throw new Error(`unexpected ${s.taskId} run while finishing ${taskId}`);
				await this.complete(s.attemptId, JSON.parse(s.payload || "null"));
				done++;
			}
		}
	}
}

/** The stack a test suite shares: the spawned run engine and one batch service. */
export interface BatchSuite {
	engine: RunEngineProcesses;
	batch: BatchUnderTest;
}

/**
 * Starts the run engine and a batch service before the suite's tests and stops them
 * after; the returned object is filled in by the time the tests run.
 */
export function batchSuite(extra: Record<string, string> = {}): BatchSuite {
	const suite = {} as BatchSuite;
	before(async () => {
		suite.engine = await startRunEngine();
		suite.batch = await startBatch(suite.engine, extra);
	});
	after(async () => {
		await suite.batch?.close();
		await suite.engine?.close();
	});
	return suite;
}

/** A streamed batch of `count` items in a fresh environment with a worker for "child", its stream opened. */
export async function openStreamedBatch(suite: BatchSuite, count: number) {
	const environmentId = newEnvironment();
	const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
	const { batch } = await suite.batch.client.createBatch({ environmentId, expectedItemCount: count });
	const batchId = batch?.id ?? "";
	const stream = new ItemStream();
	stream.push(header(environmentId, batchId));
	return { environmentId, worker, batchId, stream };
}
