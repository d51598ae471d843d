import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { LogIngestService } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { createServiceClient } from "../grpc/client.js";
import { registration } from "../grpc/implementation.js";
import type { GrpcServiceHost } from "../grpc/server.js";
import { startTestServer, testClient } from "../testing/grpc.js";
import { startTelemetry, type TelemetryShutdown } from "./bootstrap.js";

describe("trace context across service hops", () => {
	const exporter = new InMemorySpanExporter();
	let stopTelemetry: TelemetryShutdown;
	let downstream: GrpcServiceHost;
	let upstream: GrpcServiceHost;
	let downstreamTraceId = "";
	let downstreamDeadline: Date | undefined;

	before(async () => {
		stopTelemetry = startTelemetry({
			serviceName: "kit-test",
			spanExporter: exporter,
			exportImmediately: true,
		});
		// Downstream: records the trace it runs in and the deadline it was given.
		downstream = await startTestServer([
			registration(LogIngestService, {
				async query(_request, context) {
					downstreamTraceId = trace.getActiveSpan()?.spanContext().traceId ?? "";
					downstreamDeadline = context.deadline;
					return {};
				},
			}),
		]);
		// Upstream: calls downstream through the kit's service client, passing its deadline on.
		const logs = createServiceClient(LogIngestService, { baseUrl: downstream.url });
		upstream = await startTestServer([
			registration(SchedulerService, {
				async getRun(request, context) {
					const remaining = context.deadline ? context.deadline.getTime() - Date.now() : undefined;
					await logs.query({ runId: request.runId }, { timeoutMs: remaining });
					return { run: { id: request.runId } };
				},
			}),
		]);
	});

	after(async () => {
		upstream.forceStop();
		downstream.forceStop();
		await stopTelemetry();
	});

	test("one call through two services is one trace, and the deadline travels with it", async () => {
		const tracer = trace.getTracer("kit-test");
		const rootTraceId = await tracer.startActiveSpan("test-root", async (span) => {
			await testClient(SchedulerService, upstream.url).getRun({ runId: "run_traced" }, { timeoutMs: 5_000 });
			span.end();
			return span.spanContext().traceId;
		});
		assert.equal(downstreamTraceId, rootTraceId);
		assert.ok(downstreamDeadline !== undefined, "the downstream call had a deadline");
		const remaining = (downstreamDeadline?.getTime() ?? 0) - Date.now();
		assert.ok(remaining > 0 && remaining <= 5_000, `deadline ${remaining} ms away`);

		// Spans reach the exporter asynchronously (the SDK's resource attributes settle
		// first) and server spans end just after their response is sent; wait for all five.
		const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === rootTraceId);
		for (let i = 0; i < 100 && inTrace().length < 5; i++) await new Promise((r) => setTimeout(r, 20));
		const spans = inTrace();
		const names = spans.map((s) => s.name).sort();
		assert.deepEqual(names, [
			"taskmesh.logs.v1.LogIngestService/Query",
			"taskmesh.logs.v1.LogIngestService/Query",
			"taskmesh.scheduler.v1.SchedulerService/GetRun",
			"taskmesh.scheduler.v1.SchedulerService/GetRun",
			"test-root",
		]);
		// The downstream server span's parent is the upstream client span.
		const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
		const downstreamServer = spans.find(
			(s) => s.name === "taskmesh.logs.v1.LogIngestService/Query" && s.kind === 1,
		);
		const parent = byId.get(downstreamServer?.parentSpanContext?.spanId ?? "");
		assert.equal(parent?.name, "taskmesh.logs.v1.LogIngestService/Query");
		assert.equal(parent?.kind, 2);
	});
});
