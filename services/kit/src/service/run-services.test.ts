import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	Health,
	HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../gen/grpc/health/v1/health_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { testClient } from "../testing/grpc.js";
import { runToExit, spawnServiceProcess } from "../testing/process.js";

const slowScheduler = fileURLToPath(new URL("../testing/fixtures/slow-scheduler.ts", import.meta.url));
const queueMain = fileURLToPath(new URL("../../../queue/src/main.ts", import.meta.url));

describe("a service process", () => {
	test("finishes the call in flight after SIGTERM, refuses new ones, then exits 0", async () => {
		const service = await spawnServiceProcess(slowScheduler, {
			env: { TASKMESH_SCHEDULER_PORT: "0", SLOW_CALL_MS: "1500", GRPC_DRAIN_TIMEOUT_MS: "10000" },
			expectedServices: 1,
		});
		const url = `http://127.0.0.1:${service.ports.get("scheduler")}`;
		const client = testClient(SchedulerService, url);
		const inFlight = client.getRun({ environmentId: "env", runId: "run_before_sigterm" });
		await new Promise((resolve) => setTimeout(resolve, 300));

		service.child.kill("SIGTERM");
		await new Promise((resolve) => setTimeout(resolve, 200));
		const status = await testClient(Health, url).check({ service: "" });
		assert.equal(status.status, ServingStatus.NOT_SERVING);
		await assert.rejects(
			client.getRun({ environmentId: "env", runId: "run_after_sigterm" }),
			(e: unknown) => ConnectError.from(e).code === Code.Unavailable,
		);

		const response = await inFlight;
		assert.equal(response.run?.id, "run_before_sigterm");
		assert.equal(await service.exited, 0);
		assert.ok(service.lines.some((line) => line.includes('"msg":"gRPC server stopped"')));
	});

	test("a bad environment variable stops start-up with a message naming it", async () => {
		const result = await runToExit(process.execPath, ["--import", "tsx", queueMain], {
			TASKMESH_QUEUE_PORT: "eighty",
			LOG_LEVEL: "loud",
		});
		assert.equal(result.code, 78);
		assert.match(result.stderr, /TASKMESH_QUEUE_PORT="eighty": expected a whole number from 0 to 65535/);
		assert.match(
			result.stderr,
			/LOG_LEVEL="loud": expected one of trace, debug, info, warn, error, fatal, silent/,
		);
		assert.equal(result.stdout.includes("gRPC server listening"), false);
	});
});
