/**
 * bench:batch — items per second of a batch streamed through BatchService.StreamBatchItems
 * (real gRPC; the batch service, the scheduler and the queue each in a process of their
 * own), counted until the stream answers with the batch sealed: every item is then a
 * child run in PostgreSQL and a message in the queue. Beside it, in the same run, BullMQ
 * `addBulk` puts the same number of jobs with the same payloads into the same Redis.
 *
 *   npx tsx bench/batch.ts        (ITEMS=100000 CHUNK=1000 DIRECT_ITEMS=<ITEMS> to change the load)
 *
 * The items are encoded as the SDK sends them (sdk/src/tasks/batch-chunk-encoding.ts).
 *
 * Prints items/s for each and ends with `ratio: <taskmesh/bullmq>`. Then every item is
 * read back in pages of 1,000 (ListBatchItems, each item with its child run's status;
 * BullMQ `getJobs`), printed beside each other. Then the durable floor (batch-floor.ts):
 * the rows the batch wrote, loaded again by PostgreSQL's own binary COPY with nothing
 * in front of it — what no design that keeps runs and items in PostgreSQL can beat.
 * A last line shows
 * the scheduler's TriggerRuns called directly (same chunks, same parallelism as the
 * batch service uses), so what the batch service adds on top of run creation is visible.
 */
import { readFileSync } from "node:fs";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pg from "pg";
import { BatchService } from "../gen/taskmesh/batch/v1/batch_pb.js";
import { SchedulerService } from "../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { batchChunkRequestOf, type ChunkItem } from "../sdk/src/tasks/batch-chunk-encoding.js";
import { loadBatchConfig } from "../services/batch/src/batch-config.js";
import {
	batchEnv,
	dropSchema,
	newEnvironment,
	type RunEngineProcesses,
	startRunEngine,
	TestWorker,
} from "../services/batch/src/testing/batch-stack.js";
import { header } from "../services/batch/src/testing/item-stream.js";
import { testClient } from "../services/kit/src/testing/grpc.js";
import { spawnServiceProcess } from "../services/kit/src/testing/process.js";
import { randomSuffix } from "../services/kit/src/testing/stores.js";
import { copyFloor, type FloorTiming } from "./batch-floor.js";

const ITEMS = Number(process.env.ITEMS ?? 100_000);
// The services run as in production (like bench:queue): in development the queue
// writes a log line per message, which BullMQ, the baseline, does not.
process.env.TASKMESH_ENV ??= "production";
const CHUNK = Number(process.env.CHUNK ?? 1_000);
const DIRECT_ITEMS = Number(process.env.DIRECT_ITEMS ?? ITEMS);
const READ_PAGE = 1_000;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
function cpuSeconds(pid: number): number {
	try {
		// Fields after the command name: state is field 3, utime 14 and stime 15 (clock ticks of 10 ms).
		const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return 0;
	}
}

/** Backend pids of the pools whose application_name is one of `names` (the kit names pools by schema). */
async function backendPids(databaseUrl: string, names: string[]): Promise<Map<number, string>> {
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	try {
		const { rows } = await client.query<{ pid: number; application_name: string }>(
			"SELECT pid, application_name FROM pg_stat_activity WHERE application_name = ANY($1)",
			[names],
		);
		return new Map(rows.map((r) => [r.pid, r.application_name]));
	} finally {
		await client.end();
	}
}

async function redisCpuSeconds(redisUrl: string): Promise<number> {
	const redis = new Redis(redisUrl);
	try {
		const info = await redis.info("cpu");
		const of = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
		return of("used_cpu_user") + of("used_cpu_sys");
	} finally {
		redis.disconnect();
	}
}

/**
 * CPU used per item by each part while the timed batch ran: the three service
 * processes, their PostgreSQL backends (by pool name) and Redis (the whole server,
 * so other work on it counts too). Load-independent where the wall clock is not.
 */
class CpuMeter {
	#start = new Map<string, number>();
	#backendStart = new Map<number, number>();

	constructor(
		private readonly processes: Record<string, number>,
		private readonly databaseUrl: string,
		private readonly redisUrl: string,
		private readonly pools: Record<string, string>,
	) {}

	async start(): Promise<void> {
		for (const [name, pid] of Object.entries(this.processes)) this.#start.set(name, cpuSeconds(pid));
		for (const pid of (await backendPids(this.databaseUrl, Object.keys(this.pools))).keys())
			this.#backendStart.set(pid, cpuSeconds(pid));
		this.#start.set("redis", await redisCpuSeconds(this.redisUrl));
	}

	async report(items: number): Promise<string> {
		const used: [string, number][] = Object.entries(this.processes).map(([name, pid]) => [
			name,
			cpuSeconds(pid) - (this.#start.get(name) ?? 0),
		]);
		const pgUsed = new Map<string, number>();
		for (const [pid, app] of await backendPids(this.databaseUrl, Object.keys(this.pools))) {
			const label = `postgres (${this.pools[app]})`;
			pgUsed.set(label, (pgUsed.get(label) ?? 0) + cpuSeconds(pid) - (this.#backendStart.get(pid) ?? 0));
		}
		used.push(...pgUsed, ["redis", (await redisCpuSeconds(this.redisUrl)) - (this.#start.get("redis") ?? 0)]);
		const total = used.reduce((sum, [, s]) => sum + s, 0);
		return [...used, ["total", total] as [string, number]]
			.map(([name, s]) => `${name} ${((s * 1e6) / items).toFixed(0)}`)
			.join(", ");
	}
}

/** Items per second of ingestion and of reading every item's state back. */
interface Rates {
	ingest: number;
	readBack: number;
}

/** taskmesh's rates, and the durable floor measured over the rows its batch wrote. */
interface OurRates extends Rates {
	floor: FloorTiming;
}

async function taskmesh(engine: RunEngineProcesses): Promise<OurRates> {
	const schema = `bench_batch_${randomSuffix()}`;
	// The service as deployed: batchEnv's sweep and watch intervals are the tests' (100 and
	// 200 ms), whose polls would run ten times as often as in production.
	const defaults = loadBatchConfig({});
	const env = {
		...batchEnv(engine, schema),
		TASKMESH_BATCH_PORT: "0",
		BATCH_SWEEP_INTERVAL_MS: String(defaults.BATCH_SWEEP_INTERVAL_MS),
		BATCH_WATCH_POLL_MS: String(defaults.BATCH_WATCH_POLL_MS),
	};
	loadBatchConfig(env);
	const service = await spawnServiceProcess("services/batch/src/main.ts", { env, expectedServices: 1 });
	try {
		const client = testClient(BatchService, `http://127.0.0.1:${[...service.ports.values()][0] as number}`);
		const environmentId = newEnvironment();
		await TestWorker.register(engine, environmentId, ["child"]);
		// Warm-up: one small batch, so connections and prepared paths exist before timing.
		await stream(client, environmentId, 1_000);
		const meter = new CpuMeter(
			{
				batch: service.child.pid ?? 0,
				scheduler: engine.scheduler.child.pid ?? 0,
				queue: engine.queue.child.pid ?? 0,
			},
			engine.databaseUrl,
			engine.redisUrl,
			{ [`taskmesh-${schema}`]: "batch", [`taskmesh-${engine.schedulerSchema}`]: "scheduler" },
		);
		await meter.start();
		const clientCpu = process.cpuUsage();
		const started = performance.now();
		const batchId = await stream(client, environmentId, ITEMS);
		const seconds = (performance.now() - started) / 1_000;
		const clientUsed = process.cpuUsage(clientCpu);
		if (batchId === undefined) throw new Error("the batch was not sealed");
		console.log(`cpu µs per item: ${await meter.report(ITEMS)}`);
		// The sender shares the machine: its CPU is time the services did not have.
		console.log(
			`cpu µs per item of this process (building and sending the items, as the SDK does): ${((clientUsed.user + clientUsed.system) / ITEMS).toFixed(1)}`,
		);
		// Every item's state read back in index order, as a waiting parent's resume and
		// a client paging ListBatchItems do (each item carries its child run's real status).
		const readStarted = performance.now();
		let read = 0;
		let pageToken = "";
		do {
			const page = await client.listBatchItems({ environmentId, batchId, pageSize: READ_PAGE, pageToken });
			read += page.items.length;
			pageToken = page.nextPageToken;
		} while (pageToken !== "");
		if (read !== ITEMS) throw new Error(`ListBatchItems returned ${read} of ${ITEMS} items`);
		const readBack = ITEMS / ((performance.now() - readStarted) / 1_000);
		const floor = await copyFloor(engine.databaseUrl, batchId, [
			{ schema: engine.schedulerSchema, table: "runs" },
			{ schema, table: "batch_items" },
		]);
		for (const [table, rows] of floor.rows)
			if (rows !== ITEMS) throw new Error(`the batch wrote ${rows} rows of ${table}, expected ${ITEMS}`);
		return { ingest: ITEMS / seconds, readBack, floor };
	} finally {
		service.child.kill("SIGTERM");
		await service.exited;
		await dropSchema(engine.databaseUrl, schema);
	}
}

async function stream(
	client: ReturnType<typeof testClient<typeof BatchService>>,
	environmentId: string,
	count: number,
) {
	const { batch } = await client.createBatch({ environmentId, expectedItemCount: count });
	// Each chunk is built and encoded as the stream asks for it, as the SDK's batchTrigger
	// does, by its batch-chunk encoder (the bytes protobuf-es would write).
	async function* requests() {
		yield header(environmentId, batch?.id ?? "");
		const encoder = new TextEncoder();
		for (let from = 0; from < count; from += CHUNK) {
			const chunk: ChunkItem[] = [];
			for (let i = from; i < Math.min(count, from + CHUNK); i++)
				chunk.push({ index: i, item: { taskId: "child", payload: encoder.encode(JSON.stringify({ i })) } });
			yield batchChunkRequestOf(chunk);
		}
	}
	const answer = await client.streamBatchItems(requests());
	const sealed = answer.batch?.sealed === true && answer.batch.createdItemCount === count;
	return sealed ? answer.batch?.id : undefined;
}

async function bullmq(redisUrl: string): Promise<Rates> {
	const { hostname, port } = new URL(redisUrl);
	const queue = new Queue(`bench-batch-${randomSuffix()}`, {
		connection: { host: hostname, port: Number(port || 6379), maxRetriesPerRequest: null },
	});
	try {
		await queue.addBulk([{ name: "child", data: { i: -1 } }]);
		const started = performance.now();
		for (let from = 0; from < ITEMS; from += CHUNK) {
			const jobs = [];
			for (let i = from; i < Math.min(ITEMS, from + CHUNK); i++) jobs.push({ name: "child", data: { i } });
			await queue.addBulk(jobs);
		}
		const seconds = (performance.now() - started) / 1_000;
		const waiting = await queue.getWaitingCount();
		if (waiting !== ITEMS + 1) throw new Error(`BullMQ holds ${waiting} waiting jobs, expected ${ITEMS + 1}`);
		// The baseline's read-back: every job with its data and state, in pages of the same size.
		const readStarted = performance.now();
		let read = 0;
		for (let from = 0; from <= ITEMS; from += READ_PAGE) {
			read += (await queue.getJobs(["waiting"], from, Math.min(ITEMS, from + READ_PAGE - 1), true)).length;
		}
		if (read !== ITEMS + 1) throw new Error(`BullMQ getJobs returned ${read} of ${ITEMS + 1} jobs`);
		return { ingest: ITEMS / seconds, readBack: read / ((performance.now() - readStarted) / 1_000) };
	} finally {
		await queue.obliterate({ force: true });
		await queue.close();
	}
}

async function triggerRunsAlone(engine: RunEngineProcesses, parallelism: number): Promise<number> {
	const scheduler = testClient(SchedulerService, engine.schedulerUrl);
	const environmentId = newEnvironment();
	await TestWorker.register(engine, environmentId, ["child"]);
	const batchId = `bench_direct_${randomSuffix()}`;
	const encoder = new TextEncoder();
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: parallelism }, async () => {
			while (next < DIRECT_ITEMS) {
				const from = next;
				next += CHUNK;
				const runs = [];
				for (let i = from; i < Math.min(DIRECT_ITEMS, from + CHUNK); i++) {
					runs.push({ taskId: "child", payload: encoder.encode(JSON.stringify({ i })) });
				}
				// Summaries, as the batch service asks for them: the reference differs only in
				// having no batch service in front.
				await scheduler.triggerRuns({ environmentId, batchId, firstIndex: from, runs, summaryOnly: true });
			}
		}),
	);
	return DIRECT_ITEMS / ((performance.now() - started) / 1_000);
}

async function dropKeys(redisUrl: string, prefix: string): Promise<void> {
	const redis = new Redis(redisUrl);
	try {
		for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 })) {
			if ((keys as string[]).length > 0) await redis.unlink(...(keys as string[]));
		}
	} finally {
		redis.disconnect();
	}
}

const engine = await startRunEngine();
try {
	console.log(`${ITEMS} items in chunks of ${CHUNK}`);
	const baseRates = await bullmq(engine.redisUrl);
	const base = baseRates.ingest;
	console.log(`bullmq addBulk:              ${base.toFixed(0)} items/s`);
	const ourRates = await taskmesh(engine);
	const ours = ourRates.ingest;
	console.log(`taskmesh StreamBatchItems:   ${ours.toFixed(0)} items/s (created as runs and enqueued)`);
	console.log(
		`read back, pages of ${READ_PAGE}: taskmesh ListBatchItems ${ourRates.readBack.toFixed(0)} items/s, bullmq getJobs ${baseRates.readBack.toFixed(0)} jobs/s (ratio ${(ourRates.readBack / baseRates.readBack).toFixed(2)})`,
	);
	const { floor } = ourRates;
	const loads = [...floor.perTable].map(([table, s]) => `${table} ${s.toFixed(2)} s`).join(", ");
	console.log(
		`durable floor: ${(ITEMS / floor.seconds).toFixed(0)} items/s — the same rows loaded by PostgreSQL's binary COPY alone, tables at once (${loads}); floor/bullmq ${(ITEMS / floor.seconds / base).toFixed(2)}`,
	);
	const direct = await triggerRunsAlone(engine, loadBatchConfig({}).BATCH_PARALLELISM);
	console.log(
		`scheduler TriggerRuns alone: ${direct.toFixed(0)} items/s (${DIRECT_ITEMS} runs, same chunks and parallelism, no batch service; for reference)`,
	);
	console.log(`ratio: ${(ours / base).toFixed(2)}`);
} finally {
	await engine.close();
	await dropKeys(engine.redisUrl, engine.queueNamespace);
}
