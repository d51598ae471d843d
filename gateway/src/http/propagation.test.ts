import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	createPostgresPool,
	type GrpcServiceHost,
	loadPlatformConfig,
	registration,
	startTelemetry,
	type TelemetryShutdown,
} from "../../../services/kit/src/index.js";
import { startTestServer } from "../../../services/kit/src/testing/grpc.js";
import { randomSuffix, testKeyPrefix, testStores } from "../../../services/kit/src/testing/stores.js";
import { type RunningGateway, startGateway } from "../gateway.js";
import { loadGatewayConfig } from "../gateway-config.js";

interface Seen {
	traceparent: string | undefined;
	deadline: Date | undefined;
	environmentId: string;
}

describe("what the gateway passes on to a service", () => {
	const exporter = new InMemorySpanExporter();
	let stopTelemetry: TelemetryShutdown;
	let scheduler: GrpcServiceHost;
	let gateway: RunningGateway;
	let key: string;
	let environmentId: string;
	const seen = new Map<string, Seen>();
	let release: () => void = () => {};
	const held = new Promise<void>((resolve) => {
		release = resolve;
	});
	const schema = `gw_prop_${randomSuffix()}`;

	before(async () => {
		stopTelemetry = startTelemetry({
			serviceName: "gateway-test",
			spanExporter: exporter,
			exportImmediately: true,
		});
		// A scheduler that records what each call brought with it; "run_held" waits for release().
		scheduler = await startTestServer([
			registration(SchedulerService, {
				async getRun(request, context) {
					const traceparent = context.metadata.get("traceparent")[0];
					seen.set(request.runId, {
						traceparent: traceparent === undefined ? undefined : String(traceparent),
						deadline: context.deadline,
						environmentId: request.environmentId,
					});
					if (request.runId === "run_held") await held;
					return { run: { id: request.runId, environmentId: request.environmentId } };
				},
			}),
		]);
		const stores = await testStores();
		const env = {
			DATABASE_URL: stores.databaseUrl,
			REDIS_URL: stores.redisUrl,
			TASKMESH_HOST: "127.0.0.1",
			TASKMESH_SCHEDULER_URL: scheduler.url,
			GATEWAY_PORT: "0",
			GATEWAY_DATABASE_SCHEMA: schema,
			GATEWAY_REDIS_NAMESPACE: testKeyPrefix("gw_prop").slice(0, -1),
			GATEWAY_DRAIN_TIMEOUT_MS: "60000",
		};
		gateway = await startGateway({
			config: loadPlatformConfig(env),
			gateway: loadGatewayConfig(env),
			logger: pino({ level: "silent" }),
		});
		const created = await gateway.keys.create({ project: "prop", environment: "dev" });
		key = created.key;
		environmentId = created.record.environmentId;
	});

	after(async () => {
		release();
		await gateway?.close();
		scheduler?.forceStop();
		await stopTelemetry();
		const { databaseUrl } = await testStores();
		const pool = createPostgresPool({ url: databaseUrl, schema: "public", max: 1 });
		await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
		await pool.end();
	});

	const getRun = (runId: string, headers: Record<string, string> = {}) =>
		fetch(`${gateway.url}/taskmesh.scheduler.v1.SchedulerService/GetRun`, {
			method: "POST",
			headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
			body: JSON.stringify({ runId }),
		});

	test("the caller's trace, deadline and key's environment reach the service", async () => {
		const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
		const response = await getRun("run_traced", {
			traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
			"connect-timeout-ms": "5000",
		});
		assert.equal(response.status, 200, await response.clone().text());
		const call = seen.get("run_traced");
		assert.equal(call?.environmentId, environmentId);
		assert.equal(call?.traceparent?.split("-")[1], traceId, "the service's call is in the caller's trace");
		assert.notEqual(call?.traceparent?.split("-")[2], "00f067aa0ba902b7", "its parent is the gateway's span");
		const remaining = (call?.deadline?.getTime() ?? 0) - Date.now();
		assert.ok(remaining > 0 && remaining <= 5_000, `deadline ${remaining} ms away`);
		const gatewaySpan = exporter
			.getFinishedSpans()
			.find(
				(s) =>
					s.spanContext().traceId === traceId && s.name === "taskmesh.scheduler.v1.SchedulerService/GetRun",
			);
		assert.ok(gatewaySpan !== undefined, "the gateway's client span joined the caller's trace");
	});

	test("a call without a deadline is forwarded without one", async () => {
		const response = await getRun("run_no_deadline");
		assert.equal(response.status, 200);
		assert.equal(seen.get("run_no_deadline")?.deadline, undefined);
	});

	test("closing lets a call in flight finish and stops accepting new connections", async () => {
		const inFlight = getRun("run_held");
		while (!seen.has("run_held")) await new Promise((resolve) => setImmediate(resolve));
		const closed = gateway.close();
		release();
		const response = await inFlight;
		assert.equal(response.status, 200);
		assert.deepEqual(((await response.json()) as { run: { id: string } }).run.id, "run_held");
		await closed;
		await assert.rejects(getRun("run_after_close"), /fetch failed/);
	});
});
