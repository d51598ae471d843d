import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigurationError, configure, runs, tasks, UnauthenticatedError } from "../../sdk/src/index.js";
import { createPostgresPool } from "../../services/kit/src/postgres/pool.js";
import { runToExit } from "../../services/kit/src/testing/process.js";
import { randomSuffix, testStores } from "../../services/kit/src/testing/stores.js";
import { startPlatform, startWorker, type TestPlatform, type WorkerProcess } from "./sdk-platform.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = fileURLToPath(new URL("../../sdk/src/cli/main.ts", import.meta.url));
const GATEWAY = fileURLToPath(new URL("../../gateway/src/main.ts", import.meta.url));

describe("SDK through the gateway with an API key", () => {
	const project = `sdk${randomSuffix()
		.toLowerCase()
		.replace(/[^a-z0-9]/g, "")}`;
	const environmentId = `${project}.dev`;
	const gatewaySchema = `sdk_gw_${randomSuffix()}`;
	let platform: TestPlatform;
	let worker: WorkerProcess;
	let gateway: ReturnType<typeof spawn>;
	let gatewayUrl: string;
	let keyEnv: Record<string, string>;
	let apiKey: string;

	before(async () => {
		const stores = await testStores();
		platform = await startPlatform(environmentId);
		keyEnv = {
			DATABASE_URL: stores.databaseUrl,
			GATEWAY_DATABASE_SCHEMA: gatewaySchema,
			TASKMESH_HOME: ROOT,
		};
		gateway = spawn(process.execPath, ["--import", "tsx", GATEWAY], {
			env: {
				...process.env,
				...keyEnv,
				REDIS_URL: stores.redisUrl,
				GATEWAY_PORT: "0",
				GATEWAY_REDIS_NAMESPACE: `sdk-gw-${project}`,
				TASKMESH_QUEUE_URL: platform.urls.queue as string,
				TASKMESH_SCHEDULER_URL: platform.urls.scheduler as string,
				TASKMESH_BATCH_URL: platform.urls.batch as string,
				TASKMESH_LOG_INGEST_URL: platform.urls.logs as string,
				TASKMESH_TELEMETRY_URL: platform.urls.telemetry as string,
				LOG_LEVEL: "info",
			},
			stdio: ["ignore", "pipe", "inherit"],
		});
		gatewayUrl = await new Promise<string>((resolve, reject) => {
			createInterface({ input: gateway.stdout as NodeJS.ReadableStream }).on("line", (line) => {
				try {
					const r = JSON.parse(line) as { msg?: string; port?: number };
					if (r.msg === "gateway listening") resolve(`http://127.0.0.1:${r.port}`);
				} catch {
					// Not a log line.
				}
			});
			gateway.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
		});
		// `taskmesh keys create` runs the gateway's own key command.
		const created = await runToExit(
			process.execPath,
			["--import", "tsx", CLI, "keys", "create", "--project", project, "--environment", "dev", "--json"],
			keyEnv,
		);
		assert.equal(created.code, 0, created.stderr);
		apiKey = (JSON.parse(created.stdout.trim().split("\n").at(-1) as string) as { key: string }).key;
		// Workers reach the services directly, in the key's environment.
		worker = await startWorker(platform.env);
		configure({ url: gatewayUrl, apiKey });
	});

	after(async () => {
		worker?.child.kill("SIGTERM");
		await worker?.exited;
		gateway?.kill("SIGTERM");
		if (gateway) await new Promise((r) => gateway.once("exit", r));
		await platform?.stop();
		const { databaseUrl } = await testStores();
		const pool = createPostgresPool({ url: databaseUrl, schema: "public", max: 1 });
		await pool.query(`DROP SCHEMA IF EXISTS ${gatewaySchema} CASCADE`);
		await pool.end();
	});

	test("trigger, run and result through the gateway; the CLI reads the run and its logs with the key", async () => {
		const result = await tasks.triggerAndWait<{ documents: number; words: number }>("doc.ingest", {
			documents: [
				{ id: "a", text: "one two three" },
				{ id: "b", text: "four five" },
			],
		});
		assert.equal(result.ok, true, String(result.error));
		assert.equal(result.unwrap().words, 5);
		const run = await runs.retrieve(result.id);
		assert.equal(run.status, "COMPLETED");

		const env = { TASKMESH_URL: gatewayUrl, TASKMESH_API_KEY: apiKey };
		const got = await runToExit(process.execPath, ["--import", "tsx", CLI, "runs", "get", result.id], env);
		assert.equal(got.code, 0, got.stderr);
		assert.match(got.stdout, /status +COMPLETED/);
		const logs = await runToExit(process.execPath, ["--import", "tsx", CLI, "logs", result.id], env);
		assert.equal(logs.code, 0, logs.stderr);
		assert.match(logs.stdout, /ingest started/);
	});

	test("a wrong key is an UnauthenticatedError, a missing one a ConfigurationError, and the CLI prints one line", async () => {
		configure({ url: gatewayUrl, apiKey: "tmk_not-a-real-key" });
		try {
			await assert.rejects(runs.list(), UnauthenticatedError);
		} finally {
			configure({ url: gatewayUrl, apiKey });
		}
		assert.throws(() => configure({ url: gatewayUrl, apiKey: "" }), ConfigurationError);
		configure({ url: gatewayUrl, apiKey });
		const out = await runToExit(process.execPath, ["--import", "tsx", CLI, "runs", "ls"], {
			TASKMESH_URL: gatewayUrl,
			TASKMESH_API_KEY: "tmk_wrong",
		});
		assert.equal(out.code, 1);
		assert.match(out.stderr, /^taskmesh: UnauthenticatedError: /);
		assert.equal(out.stderr.trim().split("\n").length, 1);
	});

	test("a worker pointed at the gateway refuses to start and says why", async () => {
		const out = await runToExit(
			process.execPath,
			["--import", "tsx", CLI, "worker", `${ROOT}/examples/document-pipeline/src/tasks.ts`],
			{
				TASKMESH_URL: gatewayUrl,
				TASKMESH_API_KEY: apiKey,
			},
		);
		assert.equal(out.code, 1);
		assert.match(out.stderr, /taskmesh: ConfigurationError: a worker talks to the services directly/);
	});
});
