import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ExporterHealth } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { OtlpJsonReceiver } from "../testing/otlp-json-receiver.js";
import {
	type OtlpReceiver,
	startOtlpGrpcReceiver,
	startOtlpHttpProtobufReceiver,
} from "../testing/otlp-protobuf-receivers.js";
import {
	eventually,
	quickConfig,
	spansRequest,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

const str = (value: string) => ({ value: { case: "stringValue" as const, value } });

describe("OTLP exporter kinds through gRPC", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let httpProtobuf: OtlpReceiver;
	let grpc: OtlpReceiver;
	let json: OtlpJsonReceiver;

	before(async () => {
		schema = await createTestSchema("telemetry_otlp");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		httpProtobuf = await startOtlpHttpProtobufReceiver();
		grpc = await startOtlpGrpcReceiver();
		json = await OtlpJsonReceiver.start();
	});

	after(async () => {
		await harness.close();
		await httpProtobuf.close();
		await grpc.close();
		await json.close();
		await schema.drop();
	});

	test("OTLP/HTTP protobuf (the default) and OTLP/gRPC deliver decodable spans with redaction applied", async () => {
		const env = `env-${randomSuffix()}`;
		const redaction = { keys: ["db.password"] };
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "http",
				kind: { case: "otlpHttp", value: { endpoint: httpProtobuf.url } },
				redaction,
			}),
		});
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "grpc",
				kind: { case: "otlpGrpc", value: { endpoint: grpc.url } },
				redaction,
			}),
		});
		await harness.telemetry.export(
			spansRequest(env, [
				{ name: "query", attributes: { "db.password": "pa55word", "db.system": "postgresql" } },
			]),
		);
		for (const [name, receiver] of [
			["http", httpProtobuf],
			["grpc", grpc],
		] as const) {
			const [span] = await eventually(
				() => (receiver.spans.length > 0 ? receiver.spans : undefined),
				`${name} span`,
			);
			assert.equal(span?.name, "query");
			assert.deepEqual(span?.attributes, { "db.password": "[REDACTED]", "db.system": "postgresql" });
			assert.ok(
				receiver.bodies.every((b) => !b.includes("pa55word")),
				`${name}: the password never left`,
			);
			const status = await harness.registry.getExporter({ environmentId: env, name });
			assert.equal(status.exporter?.status?.health, ExporterHealth.HEALTHY);
		}
	});

	test("log records and metrics reach an OTLP/HTTP JSON receiver on their own paths", async () => {
		const env = `env-${randomSuffix()}`;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "all",
				kind: { case: "otlpHttp", value: { endpoint: json.url, json: true } },
			}),
		});
		const now = BigInt(Date.now()) * 1_000_000n;
		const response = await harness.telemetry.export({
			environmentId: env,
			resourceLogs: [
				{
					resource: { attributes: [{ key: "service.name", value: str("worker") }] },
					scopeLogs: [
						{
							logRecords: [
								{ timeUnixNano: now, severityNumber: 9, severityText: "INFO", body: str("run started") },
							],
						},
					],
				},
			],
			resourceMetrics: [
				{
					resource: { attributes: [{ key: "service.name", value: str("worker") }] },
					scopeMetrics: [
						{
							metrics: [
								{
									name: "runs.started",
									data: {
										case: "sum",
										value: {
											isMonotonic: true,
											isCumulative: true,
											dataPoints: [{ timeUnixNano: now, value: { case: "asInt", value: 3n } }],
										},
									},
								},
							],
						},
					],
				},
			],
		});
		assert.equal(response.acceptedLogRecords, 1n);
		assert.equal(response.acceptedDataPoints, 1n);
		await eventually(
			() => (json.paths.includes("/v1/logs") && json.paths.includes("/v1/metrics") ? true : undefined),
			"logs and metrics at the receiver",
		);
		const logs = JSON.parse(json.bodies[json.paths.indexOf("/v1/logs")] ?? "{}");
		const record = logs.resourceLogs[0].scopeLogs[0].logRecords[0];
		assert.equal(record.body.stringValue, "run started");
		assert.equal(record.severityText, "INFO");
		const metrics = JSON.parse(json.bodies[json.paths.indexOf("/v1/metrics")] ?? "{}");
		const metric = metrics.resourceMetrics[0].scopeMetrics[0].metrics[0];
		assert.equal(metric.name, "runs.started");
		assert.equal(metric.sum.isMonotonic, true);
		assert.equal(Number(metric.sum.dataPoints[0].asDouble ?? metric.sum.dataPoints[0].asInt), 3);
	});

	test("a disabled exporter keeps its config, reports DISABLED and receives nothing", async () => {
		const env = `env-${randomSuffix()}`;
		const before = httpProtobuf.bodies.length;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "off",
				enabled: false,
				kind: { case: "otlpHttp", value: { endpoint: httpProtobuf.url } },
			}),
		});
		await harness.telemetry.export(spansRequest(env, [{ name: "ignored" }]));
		const probe = await harness.registry.testExporter({ environmentId: env, name: "off" });
		assert.equal(probe.ok, false);
		assert.match(probe.error, /disabled/);
		const got = await harness.registry.getExporter({ environmentId: env, name: "off" });
		assert.equal(got.exporter?.status?.health, ExporterHealth.DISABLED);
		assert.equal(got.exporter?.config?.kind.case, "otlpHttp");
		assert.equal(httpProtobuf.bodies.length, before);
	});
});
