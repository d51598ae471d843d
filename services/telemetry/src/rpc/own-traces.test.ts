import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ExporterPluginService, Signal } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import {
	createServiceClient,
	type GrpcServiceHost,
	registration,
	startTelemetry,
	TELEMETRY_EXPORT_SPAN_NAME,
	TelemetryServiceSpanExporter,
	type TelemetryShutdown,
} from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import {
	eventually,
	quickConfig,
	readLines,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

// Any small service will do as "A calls B"; the plugin contract's Describe is at hand.
const DESCRIBE = `${ExporterPluginService.typeName}/Describe`;

describe("the services' own traces through the telemetry service", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let directory: string;
	let stopSdk: TelemetryShutdown;
	const hosts: GrpcServiceHost[] = [];
	const env = `platform-${randomSuffix()}`;

	before(async () => {
		schema = await createTestSchema("telemetry_own");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		directory = await mkdtemp(join(tmpdir(), "telemetry-own-"));
		stopSdk = startTelemetry({
			serviceName: "own-traces-test",
			spanExporter: new TelemetryServiceSpanExporter({ baseUrl: harness.host.url, environmentId: env }),
			exportImmediately: true,
		});
	});

	after(async () => {
		await stopSdk();
		for (const host of hosts) await host.drain();
		await harness.close();
		await schema.drop();
		await rm(directory, { recursive: true, force: true });
	});

	test("a call from service A to service B arrives at a registered exporter as one trace", async () => {
		const path = join(directory, "own.jsonl");
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "own", kind: { case: "file", value: { path } } }),
		});
		const b = await startTestServer([
			registration(ExporterPluginService, {
				describe: async () => ({ name: "b", signals: [Signal.TRACES] }),
			}),
		]);
		hosts.push(b);
		const clientOfB = createServiceClient(ExporterPluginService, { baseUrl: b.url });
		const a = await startTestServer([
			registration(ExporterPluginService, {
				describe: async () => {
					const fromB = await clientOfB.describe({});
					return { name: `a+${fromB.name}`, signals: fromB.signals };
				},
			}),
		]);
		hosts.push(a);
		const answer = await testClient(ExporterPluginService, a.url).describe({});
		assert.equal(answer.name, "a+b");
		// Client span (test), A's server span, A's client span, B's server span.
		const spans = await eventually(async () => {
			const lines = (await readLines(path)).filter((l) => l.name === DESCRIBE);
			return lines.length >= 4 ? lines : undefined;
		}, "four Describe spans at the exporter");
		assert.equal(new Set(spans.map((s) => s.traceId)).size, 1, "every span of the call shares one trace id");
		const kinds = spans.map((s) => s.kind).sort();
		assert.deepEqual(kinds, [2, 2, 3, 3]);
		const all = await readLines(path);
		assert.ok(
			all.every((l) => l.name !== TELEMETRY_EXPORT_SPAN_NAME),
			"the telemetry service's own Export calls are never exported",
		);
	});
});
