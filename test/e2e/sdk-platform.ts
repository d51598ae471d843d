import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { DirectConfig } from "../../sdk/src/client/config.js";
import { configure } from "../../sdk/src/index.js";
import { createPostgresPool } from "../../services/kit/src/postgres/pool.js";
import { type ServiceProcess, spawnServiceProcess } from "../../services/kit/src/testing/process.js";
import { deleteRedisNamespace, randomSuffix, testStores } from "../../services/kit/src/testing/stores.js";

const MAIN = fileURLToPath(new URL("../../services/main.ts", import.meta.url));
const CLI = fileURLToPath(new URL("../../sdk/src/cli/main.ts", import.meta.url));
/** The example project and the test-only tasks, as a worker loads them. */
export const TASK_FILES = [
	fileURLToPath(new URL("../../examples/document-pipeline/src/tasks.ts", import.meta.url)),
	fileURLToPath(new URL("./sdk-fixture-tasks.ts", import.meta.url)),
];

/** Every service in one process, on free ports, in schemas of its own. */
export interface TestPlatform {
	process: ServiceProcess;
	urls: Record<string, string>;
	/** The variables that point the SDK and CLI at it. */
	env: Record<string, string>;
	/** The queue's Redis key namespace, its own per platform: another queue replica joins it here. */
	queueNamespace: string;
	/** Stops the process and drops its schemas and Redis keys. */
	stop(): Promise<void>;
}

/** The SDK config that reaches the platform's services directly. */
export function directConfigOf(platform: TestPlatform): DirectConfig {
	const u = platform.urls;
	return {
		services: {
			queue: u.queue as string,
			scheduler: u.scheduler as string,
			batch: u.batch as string,
			logs: u.logs as string,
			telemetry: u.telemetry as string,
		},
		environmentId: platform.env.TASKMESH_ENVIRONMENT as string,
	};
}

/** Points this process's SDK straight at the platform's services. */
export function configureDirect(platform: TestPlatform): void {
	configure(directConfigOf(platform));
}

/** Starts the platform for one test file (or a benchmark). */
export async function startPlatform(
	environmentId: string,
	/** Variables over the test settings below (a benchmark runs the platform as deployed). */
	overrides: Record<string, string> = {},
): Promise<TestPlatform> {
	const stores = await testStores();
	const suffix = randomSuffix();
	const schemas = {
		SCHEDULER_DATABASE_SCHEMA: `sdk_sched_${suffix}`,
		BATCH_DATABASE_SCHEMA: `sdk_batch_${suffix}`,
		LOG_INGEST_DATABASE_SCHEMA: `sdk_logs_${suffix}`,
		TELEMETRY_DATABASE_SCHEMA: `sdk_tel_${suffix}`,
	};
	const queueNamespace = `test:sdk:${suffix}`;
	const proc = await spawnServiceProcess(MAIN, {
		env: {
			DATABASE_URL: stores.databaseUrl,
			REDIS_URL: stores.redisUrl,
			TASKMESH_QUEUE_PORT: "0",
			TASKMESH_SCHEDULER_PORT: "0",
			TASKMESH_BATCH_PORT: "0",
			TASKMESH_LOG_INGEST_PORT: "0",
			TASKMESH_TELEMETRY_PORT: "0",
			SCHEDULER_HEARTBEAT_INTERVAL_MS: "500",
			SCHEDULER_MAINTENANCE_INTERVAL_MS: "200",
			// Small enough that a 1,000-item batch's results (~80 KB) resume its parent with
			// BATCH_RESULTS_TOO_LARGE and are read from ListBatchItems, while small batches'
			// results travel with the resume: the e2e tests cover both ways.
			BATCH_RESUME_RESULTS_MAX_BYTES: "16384",
			...schemas,
			QUEUE_REDIS_NAMESPACE: queueNamespace,
			...overrides,
		},
		expectedServices: 5,
		timeoutMs: 90_000,
	});
	const url = (name: string) => `http://127.0.0.1:${proc.ports.get(name)}`;
	const urls = {
		queue: url("queue"),
		scheduler: url("scheduler"),
		batch: url("batch"),
		logs: url("log-ingest"),
		telemetry: url("telemetry"),
	};
	const env = {
		TASKMESH_URL: "",
		TASKMESH_QUEUE_URL: urls.queue,
		TASKMESH_SCHEDULER_URL: urls.scheduler,
		TASKMESH_BATCH_URL: urls.batch,
		TASKMESH_LOG_INGEST_URL: urls.logs,
		TASKMESH_TELEMETRY_URL: urls.telemetry,
		TASKMESH_ENVIRONMENT: environmentId,
	};
	return {
		process: proc,
		urls,
		env,
		queueNamespace,
		async stop() {
			proc.child.kill("SIGTERM");
			await proc.exited;
			const pool = createPostgresPool({ url: stores.databaseUrl, schema: "public", max: 1 });
			for (const schema of Object.values(schemas))
				await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await pool.end();
			await deleteRedisNamespace(stores.redisUrl, queueNamespace);
		},
	};
}

/** A worker process started with the CLI, and its output lines. */
export interface WorkerProcess {
	child: ChildProcess;
	lines: string[];
	exited: Promise<number | null>;
	/** Resolves once a line matching the pattern was printed. */
	waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs `taskmesh worker` on the task files and waits until it is ready. */
export async function startWorker(
	env: Record<string, string>,
	extra: Record<string, string> = {},
	args: string[] = [],
): Promise<WorkerProcess> {
	const child = spawn(process.execPath, ["--import", "tsx", CLI, "worker", ...TASK_FILES, ...args], {
		env: {
			...process.env,
			...env,
			TASKMESH_ENV: "development",
			TASKMESH_WORKER_CPU: "8",
			TASKMESH_WORKER_MEMORY_GB: "16",
			TASKMESH_WORKER_MAX_ATTEMPTS: "4",
			TASKMESH_WORKER_TELEMETRY_MS: "500",
			...extra,
		},
		stdio: ["ignore", "pipe", "pipe"],
	});
	const lines: string[] = [];
	const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
	const onLine = (line: string) => {
		lines.push(line);
		for (const w of [...watchers]) {
			if (w.pattern.test(line)) {
				watchers.splice(watchers.indexOf(w), 1);
				w.resolve(line);
			}
		}
	};
	createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", onLine);
	createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", onLine);
	const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
	const waitFor = (pattern: RegExp, timeoutMs = 60_000) => {
		const seen = lines.find((l) => pattern.test(l));
		if (seen !== undefined) return Promise.resolve(seen);
		return new Promise<string>((resolve, reject) => {
			const timer = setTimeout(
				() => reject(new Error(`no line matched ${pattern}; output:\n${lines.join("\n")}`)),
				timeoutMs,
			);
			watchers.push({
				pattern,
				resolve: (line) => {
					clearTimeout(timer);
					resolve(line);
				},
			});
		});
	};
	const worker = { child, lines, exited, waitFor };
	await Promise.race([
		waitFor(/worker \S+ ready/),
		exited.then((code) => {
			throw new Error(`the worker exited with ${code}:\n${lines.join("\n")}`);
		}),
	]);
	return worker;
}
