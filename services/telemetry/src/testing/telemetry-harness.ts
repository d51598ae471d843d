import type { MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type pg from "pg";
import { pino } from "pino";
import {
	BatchingConfigSchema,
	type ExporterConfig,
	ExporterConfigSchema,
	ExporterRegistryService,
	type ExportRequest,
	RetryConfigSchema,
	TelemetryService,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type { GrpcServiceHost } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { testStores } from "../../../kit/src/testing/stores.js";
import { telemetryEnvSchema } from "../config/telemetry-config.js";
import { startTelemetryRuntime, type TelemetryRuntime } from "../telemetry-runtime.js";

/** A telemetry service on a real gRPC server, over a test schema. */
export interface TelemetryHarness {
	runtime: TelemetryRuntime;
	host: GrpcServiceHost;
	telemetry: Client<typeof TelemetryService>;
	registry: Client<typeof ExporterRegistryService>;
	close(): Promise<void>;
}

/** Starts the service on the given schema and pool (several harnesses may share one, as replicas). */
export async function startTelemetryHarness(options: {
	pool: pg.Pool;
	schema: string;
	/** Telemetry variables (TELEMETRY_FILE_ROOTS, ...); the defaults otherwise. */
	env?: Record<string, string>;
}): Promise<TelemetryHarness> {
	const { databaseUrl } = await testStores();
	const runtime = await startTelemetryRuntime({
		pool: options.pool,
		databaseUrl,
		schema: options.schema,
		config: telemetryEnvSchema.parse(options.env ?? {}),
		logger: pino({ level: "silent" }),
	});
	const host = await startTestServer(runtime.services);
	return {
		runtime,
		host,
		telemetry: testClient(TelemetryService, host.url),
		registry: testClient(ExporterRegistryService, host.url),
		async close() {
			await host.drain();
			await runtime.close();
		},
	};
}

/** An exporter config with small batches and a short delay, so tests see data soon. */
export function quickConfig(init: MessageInitShape<typeof ExporterConfigSchema>): ExporterConfig {
	const config = create(ExporterConfigSchema, init);
	config.enabled = init.enabled ?? true;
	config.batching ??= create(BatchingConfigSchema, { maxBatchSize: 100, maxDelay: { nanos: 20_000_000 } });
	config.retry ??= create(RetryConfigSchema, { maxAttempts: 2, initialBackoff: { nanos: 10_000_000 } });
	return config;
}

let counter = 0;

/** An Export request of spans, each named and attributed as given. */
export function spansRequest(
	environmentId: string,
	spans: Array<{ name: string; service?: string; attributes?: Record<string, string> }>,
): MessageInitShape<typeof TelemetryService.method.export.input> {
	const byService = new Map<string, typeof spans>();
	for (const span of spans) {
		const list = byService.get(span.service ?? "svc") ?? [];
		list.push(span);
		byService.set(span.service ?? "svc", list);
	}
	const now = BigInt(Date.now()) * 1_000_000n;
	return {
		environmentId,
		resourceSpans: [...byService].map(([service, list]) => ({
			resource: {
				attributes: [{ key: "service.name", value: { value: { case: "stringValue", value: service } } }],
			},
			scopeSpans: [
				{
					scope: { name: "test", version: "1" },
					spans: list.map((span) => {
						counter += 1;
						return {
							traceId: idBytes(16, counter),
							spanId: idBytes(8, counter),
							name: span.name,
							kind: 2,
							startTimeUnixNano: now,
							endTimeUnixNano: now + 1_000_000n,
							attributes: Object.entries(span.attributes ?? {}).map(([key, value]) => ({
								key,
								value: { value: { case: "stringValue" as const, value } },
							})),
						};
					}),
				},
			],
		})),
	};
}

function idBytes(length: number, seed: number): Uint8Array {
	const bytes = new Uint8Array(length);
	for (let i = 0; i < length; i++) bytes[i] = (seed * 31 + i * 7 + 1) & 0xff;
	return bytes;
}

/** Polls until the check returns a value other than undefined (no timing is asserted). */
export async function eventually<T>(
	check: () => T | undefined | Promise<T | undefined>,
	what: string,
): Promise<T> {
	const deadline = Date.now() + 30_000;
	for (;;) {
		const value = await check();
		if (value !== undefined) return value;
		if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/**
 * Reads the whole lines of a JSON-lines file written by a file exporter. The exporter
 * may be appending as this reads: a last line without its newline is not yet whole,
 * so it is left for the next read instead of failing JSON.parse.
 */
export async function readLines(path: string): Promise<Array<Record<string, unknown>>> {
	const { readFile } = await import("node:fs/promises");
	const text = await readFile(path, "utf8").catch(() => "");
	const lines = text.split("\n");
	lines.pop();
	return lines.filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>);
}

export type { ExportRequest };
