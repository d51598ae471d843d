/**
 * Worker throughput: N short tasks run in child processes, through the whole
 * platform (batch -> scheduler -> queue -> SDK worker -> scheduler), against
 * BullMQ sandboxed processors (also child processes) on the same Redis, with the
 * same number of attempts at once. Prints runs/s of each and their ratio.
 *
 *   npx tsx bench/sdk-worker.ts [N=500] [concurrency=4]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { Worker as BullWorker, Queue } from "bullmq";
import { batch, configure } from "../sdk/src/index.js";
import { createPostgresPool } from "../services/kit/src/postgres/pool.js";
import { spawnServiceProcess } from "../services/kit/src/testing/process.js";
import { randomSuffix, testStores } from "../services/kit/src/testing/stores.js";

const N = Number(process.argv[2] ?? 500);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const root = fileURLToPath(new URL("..", import.meta.url));
const texts = Array.from({ length: N }, (_, i) => `the quick brown fox ${i} jumps over the lazy dog`);

async function taskmesh(): Promise<number> {
	const stores = await testStores();
	const suffix = randomSuffix();
	const schemas = {
		SCHEDULER_DATABASE_SCHEMA: `bench_sdk_sched_${suffix}`,
		BATCH_DATABASE_SCHEMA: `bench_sdk_batch_${suffix}`,
		LOG_INGEST_DATABASE_SCHEMA: `bench_sdk_logs_${suffix}`,
		TELEMETRY_DATABASE_SCHEMA: `bench_sdk_tel_${suffix}`,
	};
	const platform = await spawnServiceProcess(path.join(root, "services/main.ts"), {
		env: {
			DATABASE_URL: stores.databaseUrl,
			REDIS_URL: stores.redisUrl,
			TASKMESH_QUEUE_PORT: "0",
			TASKMESH_SCHEDULER_PORT: "0",
			TASKMESH_BATCH_PORT: "0",
			TASKMESH_LOG_INGEST_PORT: "0",
			TASKMESH_TELEMETRY_PORT: "0",
			TASKMESH_ENV: "production",
			...schemas,
		},
		expectedServices: 5,
		timeoutMs: 120_000,
	});
	const url = (name: string) => `http://127.0.0.1:${platform.ports.get(name)}`;
	const environmentId = `bench-${suffix}`;
	const services = {
		queue: url("queue"),
		scheduler: url("scheduler"),
		batch: url("batch"),
		logs: url("log-ingest"),
		telemetry: url("telemetry"),
	};
	configure({ services, environmentId });
	const worker: ChildProcess = spawn(
		process.execPath,
		[
			"--import",
			"tsx",
			path.join(root, "sdk/src/cli/main.ts"),
			"worker",
			path.join(root, "examples/document-pipeline/src/tasks.ts"),
		],
		{
			env: {
				...process.env,
				TASKMESH_ENV: "production",
				TASKMESH_QUEUE_URL: services.queue,
				TASKMESH_SCHEDULER_URL: services.scheduler,
				TASKMESH_BATCH_URL: services.batch,
				TASKMESH_LOG_INGEST_URL: services.logs,
				TASKMESH_TELEMETRY_URL: services.telemetry,
				TASKMESH_ENVIRONMENT: environmentId,
				TASKMESH_WORKER_CPU: "8",
				TASKMESH_WORKER_MEMORY_GB: "16",
				TASKMESH_WORKER_MAX_ATTEMPTS: String(CONCURRENCY),
			},
			stdio: ["ignore", "pipe", "inherit"],
		},
	);
	await new Promise<void>((resolve) =>
		createInterface({ input: worker.stdout as NodeJS.ReadableStream }).on("line", (l) => {
			if (/ready/.test(l)) resolve();
		}),
	);
	// Warm the worker's child processes, as a long-running worker would be.
	await batch.triggerAndWait(
		texts.slice(0, CONCURRENCY).map((text, i) => ({ task: "doc.parse", payload: { id: `w${i}`, text } })),
	);
	const start = performance.now();
	const result = await batch.triggerAndWait(
		texts.map((text, i) => ({ task: "doc.parse", payload: { id: `d${i}`, text } })),
	);
	const seconds = (performance.now() - start) / 1000;
	if (result.runs.some((r) => !r.ok)) throw new Error("a taskmesh run failed");
	worker.kill("SIGTERM");
	await new Promise((r) => worker.once("exit", r));
	platform.child.kill("SIGTERM");
	await platform.exited;
	const pool = createPostgresPool({ url: stores.databaseUrl, schema: "public", max: 1 });
	for (const schema of Object.values(schemas)) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	await pool.end();
	return N / seconds;
}

async function bullmq(): Promise<number> {
	const stores = await testStores();
	const dir = await mkdtemp(path.join(tmpdir(), "bench-sdk-"));
	const processor = path.join(dir, "parse.mjs");
	await writeFile(
		processor,
		"export default async (job) => { const words = job.data.text.split(/\\s+/); return { id: job.data.id, words: words.length }; };\n",
	);
	const name = `bench-sdk-${randomSuffix()}`;
	const redisUrl = new URL(stores.redisUrl);
	const connection = {
		host: redisUrl.hostname,
		port: Number(redisUrl.port || 6379),
		maxRetriesPerRequest: null,
	};
	const queue = new Queue(name, { connection });
	let done = 0;
	let finish: () => void = () => undefined;
	const all = new Promise<void>((r) => {
		finish = r;
	});
	const worker = new BullWorker(name, processor, {
		connection,
		concurrency: CONCURRENCY,
		useWorkerThreads: false,
	});
	worker.on("completed", () => {
		if (++done === N + CONCURRENCY) finish();
	});
	await queue.addBulk(
		texts.slice(0, CONCURRENCY).map((text, i) => ({ name: "parse", data: { id: `w${i}`, text } })),
	);
	while (done < CONCURRENCY) await new Promise((r) => setTimeout(r, 20));
	const start = performance.now();
	await queue.addBulk(texts.map((text, i) => ({ name: "parse", data: { id: `d${i}`, text } })));
	await all;
	const seconds = (performance.now() - start) / 1000;
	await worker.close();
	await queue.obliterate({ force: true });
	await queue.close();
	await rm(dir, { recursive: true, force: true });
	return N / seconds;
}

const baseline = await bullmq();
const ours = await taskmesh();
console.log(`tasks: ${N}, attempts at once: ${CONCURRENCY}`);
console.log(`BullMQ sandboxed processors: ${baseline.toFixed(0)} jobs/s`);
console.log(`taskmesh SDK worker (batch -> scheduler -> queue -> worker): ${ours.toFixed(1)} runs/s`);
console.log(`ratio taskmesh / BullMQ: ${(ours / baseline).toFixed(3)}`);
