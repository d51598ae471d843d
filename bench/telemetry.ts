/**
 * bench:telemetry — spans per second through TelemetryService.Export (real gRPC
 * server on port 0, in this process) to one OTLP/HTTP exporter, then to the same
 * exporter beside a second healthy exporter and a stalled plugin; and, in the
 * same run, the same spans exported straight through the OpenTelemetry library
 * (BatchSpanProcessor + OTLPTraceExporter, protobuf) to the same receiver.
 *
 *   npx tsx bench/telemetry.ts            (SPANS=100000 PER_CALL=200 IN_FLIGHT=4 ROUNDS=7 to change the load)
 *
 * The last line is `ratio: <healthy exporter's throughput with a stalled neighbour / alone>`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { pino } from "pino";
import { RecordingPlugin } from "../examples/telemetry-plugin-ts/recording-plugin.js";
import {
	ExporterPluginService,
	type ExportRequest,
	ExportRequestSchema,
	TelemetryService,
} from "../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { registration } from "../services/kit/src/index.js";
import { startTestServer, testClient } from "../services/kit/src/testing/grpc.js";
import { createTestSchema, testStores } from "../services/kit/src/testing/stores.js";
import { telemetryEnvSchema } from "../services/telemetry/src/config/telemetry-config.js";
import { startTelemetryRuntime } from "../services/telemetry/src/telemetry-runtime.js";
import { quickConfig, spansRequest } from "../services/telemetry/src/testing/telemetry-harness.js";

const SPANS = Number(process.env.SPANS ?? 100_000);
const PER_CALL = Number(process.env.PER_CALL ?? 200);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 4);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const BATCH = 512;

/** An OTLP/HTTP receiver that reads every body and answers 200; counts bytes. */
async function startReceiver() {
	let bytes = 0;
	const server = createServer((request, response) => {
		request.on("data", (chunk: Buffer) => {
			bytes += chunk.length;
		});
		request.on("end", () => {
			response.writeHead(200, { "content-type": "application/x-protobuf" });
			response.end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		bytes: () => bytes,
		close: () => {
			server.closeAllConnections();
			return new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main() {
	await testStores();
	const schema = await createTestSchema("bench_telemetry");
	const runtime = await startTelemetryRuntime({
		pool: schema.pool,
		databaseUrl: (await testStores()).databaseUrl,
		schema: schema.schema,
		config: telemetryEnvSchema.parse({}),
		logger: pino({ level: "silent" }),
	});
	const host = await startTestServer(runtime.services);
	const client = testClient(TelemetryService, host.url);
	const receiver = await startReceiver();
	const stalled = new RecordingPlugin({ mode: "stall" });
	const pluginHost = await startTestServer([registration(ExporterPluginService, stalled.implementation())]);
	const secondReceiver = await startReceiver();

	const requests: ExportRequest[] = [];
	let envCounter = 0;
	const otlp = (name: string, url: string) =>
		quickConfig({
			name,
			kind: { case: "otlpHttp", value: { endpoint: url } },
			batching: { maxBatchSize: BATCH, maxDelay: { nanos: 5_000_000 } },
			queueSize: SPANS + PER_CALL,
		});

	/** Sends SPANS spans through Export; returns spans/s until the healthy exporter exported them all. */
	async function throughExport(
		neighbours: "none" | "stalled" | "healthy+stalled",
	): Promise<{ rate: number; exportRate: number }> {
		const environmentId = `bench-${process.pid}-${envCounter++}`;
		const registered = await runtime.registry.register(environmentId, otlp("healthy", receiver.url));
		const names = ["healthy"];
		if (neighbours === "healthy+stalled") {
			await runtime.registry.register(environmentId, otlp("second", secondReceiver.url));
			names.push("second");
		}
		if (neighbours !== "none") {
			names.push("stalled");
			await runtime.registry.register(
				environmentId,
				quickConfig({
					name: "stalled",
					kind: { case: "plugin", value: { address: pluginHost.url.replace("http://", "") } },
					timeout: { seconds: 600n },
					queueSize: 1_000,
				}),
			);
		}
		requests.length = 0;
		for (let i = 0; i < SPANS / PER_CALL; i++) {
			// Built as messages up front, so the client only encodes them while the clock runs.
			requests.push(
				create(
					ExportRequestSchema,
					spansRequest(
						environmentId,
						Array.from({ length: PER_CALL }, (_, j) => ({
							name: `op-${j % 20}`,
							attributes: { "http.route": `/r/${j % 50}` },
						})),
					),
				),
			);
		}
		const started = performance.now();
		let next = 0;
		await Promise.all(
			Array.from({ length: IN_FLIGHT }, async () => {
				while (next < requests.length) {
					const request = requests[next++];
					if (request !== undefined) await client.export(request);
				}
			}),
		);
		const exportDone = performance.now();
		for (;;) {
			const status = runtime.fanout.status(registered.id);
			if ((status?.exported ?? 0) + (status?.dropped ?? 0) >= SPANS) {
				if ((status?.dropped ?? 0) > 0)
					throw new Error(`the healthy exporter dropped ${status?.dropped} spans`);
				break;
			}
			await new Promise((resolve) => setTimeout(resolve, 2));
		}
		const elapsed = (performance.now() - started) / 1_000;
		for (const name of names) await runtime.registry.delete(environmentId, name);
		return { rate: SPANS / elapsed, exportRate: SPANS / ((exportDone - started) / 1_000) };
	}

	/** The same number of spans through the OpenTelemetry SDK's own pipeline to the same receiver. */
	async function straightThroughLibrary(): Promise<number> {
		const provider = new BasicTracerProvider({
			resource: resourceFromAttributes({ "service.name": "svc" }),
			spanProcessors: [
				new BatchSpanProcessor(new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` }), {
					maxQueueSize: SPANS,
					maxExportBatchSize: BATCH,
					scheduledDelayMillis: 5,
				}),
			],
		});
		const tracer = provider.getTracer("bench", "1");
		const started = performance.now();
		for (let i = 0; i < SPANS; i++) {
			tracer.startSpan(`op-${i % 20}`, { kind: 1, attributes: { "http.route": `/r/${i % 50}` } }).end();
			// Yield now and then, as an application would between requests, so the processor can export.
			if (i % PER_CALL === 0) await new Promise((resolve) => setImmediate(resolve));
		}
		await provider.forceFlush();
		const elapsed = (performance.now() - started) / 1_000;
		await provider.shutdown();
		return SPANS / elapsed;
	}

	const alone: number[] = [];
	const withStalled: number[] = [];
	const three: number[] = [];
	const library: number[] = [];
	const acceptRates: number[] = [];
	// Warm-up: JIT, connections, the first registry round trips.
	await throughExport("none");
	for (let round = 0; round < ROUNDS; round++) {
		const a = await throughExport("none");
		alone.push(a.rate);
		acceptRates.push(a.exportRate);
		withStalled.push((await throughExport("stalled")).rate);
		three.push((await throughExport("healthy+stalled")).rate);
		library.push(await straightThroughLibrary());
		console.log(
			`round ${round + 1}: ratio ${((withStalled.at(-1) as number) / a.rate).toFixed(3)}; alone ${a.rate.toFixed(0)}, beside a stalled plugin ${withStalled.at(-1)?.toFixed(0)}, three exporters (one stalled) ${three.at(-1)?.toFixed(0)}, library ${library.at(-1)?.toFixed(0)} spans/s`,
		);
	}
	const m = {
		alone: median(alone),
		withStalled: median(withStalled),
		three: median(three),
		library: median(library),
		accept: median(acceptRates),
	};
	console.log(
		`spans per run: ${SPANS}, ${PER_CALL} per Export call, ${IN_FLIGHT} calls in flight, batches of ${BATCH}, medians of ${ROUNDS}`,
	);
	console.log(`Export accepted (returned to the caller), one exporter: ${m.accept.toFixed(0)} spans/s`);
	console.log(`one OTLP/HTTP exporter, end to end: ${m.alone.toFixed(0)} spans/s`);
	console.log(`the same exporter beside a stalled plugin: ${m.withStalled.toFixed(0)} spans/s`);
	console.log(
		`three exporters (two OTLP/HTTP, one stalled plugin), first OTLP exporter: ${m.three.toFixed(0)} spans/s`,
	);
	console.log(
		`straight through the OTLP library (BatchSpanProcessor + OTLPTraceExporter): ${m.library.toFixed(0)} spans/s`,
	);
	console.log(
		`overhead: through Export / straight through the library = ${(m.alone / m.library).toFixed(2)}`,
	);
	console.log(`stalled plugin received ${stalled.spans.length} spans`);

	await host.drain();
	await runtime.close();
	await pluginHost.drain();
	await receiver.close();
	await secondReceiver.close();
	await schema.drop();
	// Rounds are paired (alone, then beside the stalled plugin, back to back), so the
	// median of per-round ratios cancels most of the drift of a shared machine.
	console.log(`ratio: ${median(withStalled.map((rate, i) => rate / (alone[i] as number))).toFixed(3)}`);
}

await main();
