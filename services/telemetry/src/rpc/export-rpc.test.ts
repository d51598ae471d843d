import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { RecordingPlugin } from "../../../../examples/telemetry-plugin-ts/recording-plugin.js";
import { ExporterPluginService, Signal } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { type GrpcServiceHost, registration } from "../../../kit/src/index.js";
import { startTestServer } from "../../../kit/src/testing/grpc.js";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { OtlpJsonReceiver } from "../testing/otlp-json-receiver.js";
import { received } from "../testing/recording-module-exporter.js";
import {
	eventually,
	quickConfig,
	readLines,
	spansRequest,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

const moduleFixture = fileURLToPath(new URL("../testing/recording-module-exporter.ts", import.meta.url));

describe("TelemetryService.Export through gRPC", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let receiver: OtlpJsonReceiver;
	let directory: string;
	const plugins: GrpcServiceHost[] = [];

	const startPlugin = async (plugin: RecordingPlugin) => {
		const host = await startTestServer([registration(ExporterPluginService, plugin.implementation())]);
		plugins.push(host);
		return host.url.replace("http://", "");
	};

	before(async () => {
		schema = await createTestSchema("telemetry_export");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		receiver = await OtlpJsonReceiver.start();
		directory = await mkdtemp(join(tmpdir(), "telemetry-export-"));
	});

	after(async () => {
		await harness.close();
		for (const host of plugins) await host.drain();
		await receiver.close();
		await schema.drop();
		await rm(directory, { recursive: true, force: true });
	});

	test("an OTLP/HTTP exporter delivers spans that a receiver decodes, with redacted values masked before they leave", async () => {
		const env = `env-${randomSuffix()}`;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "otlp",
				kind: { case: "otlpHttp", value: { endpoint: receiver.url, json: true } },
				redaction: { keys: ["user.email"], valuePatterns: ["sk-[a-z0-9]+"] },
			}),
		});
		const response = await harness.telemetry.export(
			spansRequest(env, [
				{ name: "checkout", attributes: { "user.email": "ann@example.com", note: "token sk-abc123 used" } },
				{ name: "charge", attributes: { amount: "12" } },
			]),
		);
		assert.equal(response.acceptedSpans, 2n);
		await eventually(() => (receiver.spans.length >= 2 ? true : undefined), "two spans at the receiver");
		const byName = new Map(receiver.spans.map((s) => [s.name, s]));
		assert.deepEqual([...byName.keys()].sort(), ["charge", "checkout"]);
		assert.equal(byName.get("checkout")?.attributes["user.email"], "[REDACTED]");
		assert.equal(byName.get("checkout")?.attributes.note, "token [REDACTED] used");
		assert.equal(byName.get("charge")?.attributes.amount, "12");
		assert.equal(byName.get("checkout")?.service, "svc");
		assert.ok(receiver.paths.every((p) => p === "/v1/traces"));
		for (const body of receiver.bodies) {
			assert.ok(!body.includes("ann@example.com"), "the e-mail never reached the receiver");
			assert.ok(!body.includes("sk-abc123"), "the token never reached the receiver");
		}
	});

	test("module and plugin exporters both receive the spans of one Export", async () => {
		const env = `env-${randomSuffix()}`;
		const plugin = new RecordingPlugin();
		const address = await startPlugin(plugin);
		const key = `key-${randomSuffix()}`;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "plugin", kind: { case: "plugin", value: { address } } }),
		});
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "module",
				kind: { case: "module", value: { path: moduleFixture, options: { key } } },
			}),
		});
		await harness.telemetry.export(spansRequest(env, [{ name: "a" }, { name: "b" }, { name: "c" }]));
		await plugin.waitForSpans(3);
		const moduleSpans = await eventually(() => {
			const list = received.get(key) ?? [];
			return list.length >= 3 ? list : undefined;
		}, "three spans at the module exporter");
		assert.deepEqual(plugin.spans.map((s) => s.name).sort(), ["a", "b", "c"]);
		assert.ok(plugin.spans.every((s) => s.exporterName === "plugin" && s.environmentId === env));
		assert.deepEqual(moduleSpans.map((s) => s.name).sort(), ["a", "b", "c"]);
		const status = await harness.registry.getExporter({ environmentId: env, name: "plugin" });
		assert.equal(status.exporter?.status?.exported, 3n);
		assert.deepEqual(status.exporter?.status?.supportedSignals, [Signal.TRACES, Signal.LOGS, Signal.METRICS]);
	});

	test("a stalled plugin exporter does not hold back a healthy neighbour", async () => {
		const env = `env-${randomSuffix()}`;
		const stalled = new RecordingPlugin({ mode: "stall" });
		const address = await startPlugin(stalled);
		const path = join(directory, "healthy.jsonl");
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "stalled",
				kind: { case: "plugin", value: { address } },
				// Long enough that the stalled plugin holds its batch for the whole test.
				timeout: { seconds: 300n },
				queueSize: 50,
			}),
		});
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "healthy", kind: { case: "file", value: { path } } }),
		});
		const calls = 20;
		for (let i = 0; i < calls; i++) {
			const response = await harness.telemetry.export(
				spansRequest(
					env,
					Array.from({ length: 10 }, (_, j) => ({ name: `span-${i}-${j}` })),
				),
			);
			assert.equal(response.acceptedSpans, 10n);
		}
		const lines = await eventually(async () => {
			const all = await readLines(path);
			return all.length >= calls * 10 ? all : undefined;
		}, "every span in the healthy exporter's file");
		assert.equal(lines.length, calls * 10);
		const stalledStatus = (await harness.registry.getExporter({ environmentId: env, name: "stalled" }))
			.exporter?.status;
		assert.equal(stalledStatus?.exported, 0n);
		// 50 queued at most, up to 100 in the batch it is stuck on; the rest was dropped and counted.
		assert.ok((stalledStatus?.dropped ?? 0n) >= BigInt(calls * 10 - 150));
		assert.ok((stalledStatus?.queueDepth ?? 0) <= 50);
		const healthy = (await harness.registry.getExporter({ environmentId: env, name: "healthy" })).exporter
			?.status;
		assert.equal(healthy?.exported, BigInt(calls * 10));
		assert.equal(healthy?.dropped, 0n);
	});

	test("export refuses a span whose trace id is not 16 bytes, naming the field", async () => {
		const request = spansRequest("env-x", [{ name: "bad" }]);
		const span = request.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.[0];
		if (span === undefined) throw new Error("no span built");
		span.traceId = new Uint8Array(3);
		await assert.rejects(harness.telemetry.export(request), (error: Error) => {
			assert.match(
				error.message,
				/resource_spans\[0\]\.scope_spans\[0\]\.spans\[0\]\.trace_id: 3 bytes; expected exactly 16/,
			);
			return true;
		});
	});
});
