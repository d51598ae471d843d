import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import {
	Health,
	HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/grpc/health/v1/health_pb.js";
import { BatchService } from "../../gen/taskmesh/batch/v1/batch_pb.js";
import { LogIngestService } from "../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { ExporterRegistryService, TelemetryService } from "../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createPostgresPool } from "../../services/kit/src/postgres/pool.js";
import { testClient } from "../../services/kit/src/testing/grpc.js";
import {
	runToExit,
	type ServiceProcess,
	spawnServiceProcess,
} from "../../services/kit/src/testing/process.js";
import { randomSuffix, testStores } from "../../services/kit/src/testing/stores.js";

const main = fileURLToPath(new URL("../../services/main.ts", import.meta.url));
const buf = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));

// The methods DESIGN.md names for each service; the contract may hold more.
const named: Record<string, { services: string[]; methods: string[] }> = {
	queue: {
		services: [QueueService.typeName],
		methods: [
			"Enqueue",
			"Dequeue",
			"Consume",
			"Acknowledge",
			"Nack",
			"Heartbeat",
			"GetQueue",
			"ListQueues",
			"UpdateQueue",
		],
	},
	scheduler: {
		services: [SchedulerService.typeName],
		methods: [
			"TriggerRun",
			"GetRun",
			"ListRuns",
			"CancelRun",
			"ReplayRun",
			"WaitForRun",
			"ListMachinePresets",
			"CreateSchedule",
			"ListSchedules",
			"DeleteSchedule",
			"RegisterWorker",
			"StartAttempt",
			"CompleteAttempt",
			"CreateDeployment",
			"PromoteDeployment",
		],
	},
	batch: {
		services: [BatchService.typeName],
		methods: ["CreateBatch", "StreamBatchItems", "GetBatch", "ListBatchItems", "WaitForBatch"],
	},
	"log-ingest": { services: [LogIngestService.typeName], methods: ["Ingest", "Tail", "Query"] },
	telemetry: {
		services: [TelemetryService.typeName, ExporterRegistryService.typeName],
		methods: [
			"Export",
			"RegisterExporter",
			"ListExporters",
			"GetExporter",
			"UpdateExporter",
			"DeleteExporter",
			"TestExporter",
		],
	},
};

describe("npm start: every service in one process", () => {
	let platform: ServiceProcess;
	const suffix = randomSuffix();
	const schemas = {
		SCHEDULER_DATABASE_SCHEMA: `e2e_sched_${suffix}`,
		BATCH_DATABASE_SCHEMA: `e2e_batch_${suffix}`,
		LOG_INGEST_DATABASE_SCHEMA: `e2e_logs_${suffix}`,
		TELEMETRY_DATABASE_SCHEMA: `e2e_tel_${suffix}`,
	};

	before(async () => {
		const stores = await testStores();
		platform = await spawnServiceProcess(main, {
			env: {
				DATABASE_URL: stores.databaseUrl,
				REDIS_URL: stores.redisUrl,
				TASKMESH_QUEUE_PORT: "0",
				TASKMESH_SCHEDULER_PORT: "0",
				TASKMESH_BATCH_PORT: "0",
				TASKMESH_LOG_INGEST_PORT: "0",
				TASKMESH_TELEMETRY_PORT: "0",
				...schemas,
			},
			expectedServices: 5,
			timeoutMs: 60_000,
		});
	});

	after(async () => {
		platform?.child.kill("SIGTERM");
		if (platform) assert.equal(await platform.exited, 0, "the platform exits 0 after SIGTERM");
		const { databaseUrl } = await testStores();
		const pool = createPostgresPool({ url: databaseUrl, schema: "public", max: 1 });
		for (const schema of Object.values(schemas)) await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.end();
	});

	for (const [service, expected] of Object.entries(named)) {
		test(`${service} answers health SERVING and lists its methods to buf curl by reflection`, async () => {
			const port = platform.ports.get(service);
			assert.ok(port !== undefined, `${service} reported its port`);
			const url = `http://127.0.0.1:${port}`;

			const health = testClient(Health, url);
			assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
			for (const name of expected.services) {
				assert.equal((await health.check({ service: name })).status, ServingStatus.SERVING);
			}

			const listed = await runToExit(buf, [
				"curl",
				"--protocol",
				"grpc",
				"--http2-prior-knowledge",
				"--list-methods",
				url,
			]);
			assert.equal(listed.code, 0, listed.stderr);
			const methods = new Set(listed.stdout.trim().split("\n"));
			for (const method of expected.methods) {
				const found = expected.services.some((s) => methods.has(`${s}/${method}`));
				assert.ok(found, `${method} is listed for ${service}`);
			}
			assert.ok(methods.has("grpc.health.v1.Health/Check"));

			// A call resolved purely by reflection (no .proto files) with a third-party client.
			const checked = await runToExit(buf, [
				"curl",
				"--protocol",
				"grpc",
				"--http2-prior-knowledge",
				"-d",
				JSON.stringify({ service: expected.services[0] }),
				`${url}/grpc.health.v1.Health/Check`,
			]);
			assert.equal(checked.code, 0, checked.stderr);
			assert.deepEqual(JSON.parse(checked.stdout), { status: "SERVING" });
		});
	}
});
