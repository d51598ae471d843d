import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createPostgresPool } from "../../services/kit/src/index.js";
import { randomSuffix, testKeyPrefix, testStores } from "../../services/kit/src/testing/stores.js";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));

describe("npm run start:gateway", () => {
	const schema = `gw_main_${randomSuffix()}`;
	after(async () => {
		const { databaseUrl } = await testStores();
		const pool = createPostgresPool({ url: databaseUrl, schema: "public", max: 1 });
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.end();
	});

	test("listens, reports unreachable services as 503 on /healthz, and exits 0 on SIGTERM", async () => {
		const stores = await testStores();
		// Nothing listens on port 9 (discard); every service is unreachable.
		const nowhere = "http://127.0.0.1:9";
		const child = spawn(process.execPath, ["--import", "tsx", main], {
			env: {
				...process.env,
				DATABASE_URL: stores.databaseUrl,
				REDIS_URL: stores.redisUrl,
				TASKMESH_HOST: "127.0.0.1",
				GATEWAY_PORT: "0",
				GATEWAY_DATABASE_SCHEMA: schema,
				GATEWAY_REDIS_NAMESPACE: testKeyPrefix("gw_main").slice(0, -1),
				TASKMESH_QUEUE_URL: nowhere,
				TASKMESH_SCHEDULER_URL: nowhere,
				TASKMESH_BATCH_URL: nowhere,
				TASKMESH_LOG_INGEST_URL: nowhere,
				TASKMESH_TELEMETRY_URL: nowhere,
				OTEL_ENABLED: "false",
				LOG_LEVEL: "info",
			},
			stdio: ["ignore", "pipe", "pipe"],
		});
		const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
		const lines: string[] = [];
		const port = await new Promise<number>((resolve, reject) => {
			createInterface({ input: child.stdout }).on("line", (line) => {
				lines.push(line);
				const record = JSON.parse(line) as { msg?: string; port?: number };
				if (record.msg === "gateway listening" && record.port !== undefined) resolve(record.port);
			});
			void exited.then((code) => reject(new Error(`gateway exited ${code}: ${lines.join("\n")}`)));
		});
		const response = await fetch(`http://127.0.0.1:${port}/healthz`);
		assert.equal(response.status, 503);
		const report = (await response.json()) as { status: string; services: Record<string, string> };
		assert.equal(report.status, "NOT_SERVING");
		assert.deepEqual(Object.values(report.services), Array(5).fill("UNREACHABLE"));

		child.kill("SIGTERM");
		assert.equal(await exited, 0);
		assert.ok(lines.some((line) => line.includes('"msg":"gateway stopped"')));
	});
});
