import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type {
	ExporterConfigSchema,
	SpanKind,
	SpanSchema,
	StatusCode,
	TelemetryService,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { MAX_MATCHED_TEXT_LENGTH } from "../core/user-pattern.js";
import { rejectsWith } from "../testing/grpc-assertions.js";
import {
	eventually,
	quickConfig,
	readLines,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

type ExportInit = MessageInitShape<typeof TelemetryService.method.export.input>;
type SpanInit = MessageInitShape<typeof SpanSchema>;
type ConfigInit = MessageInitShape<typeof ExporterConfigSchema>;
/** Fields of a span or config to override, as plain init objects. */
type Overrides = Record<string, unknown>;

const text = (value: string) => ({ value: { case: "stringValue" as const, value } });
let seed = 0;

/** A valid span; extra overrides any field. */
function span(name: string, extra: Overrides = {}): SpanInit {
	seed += 1;
	const now = BigInt(Date.now()) * 1_000_000n;
	return {
		traceId: new Uint8Array(16).fill((seed % 250) + 1),
		spanId: new Uint8Array(8).fill((seed % 250) + 1),
		name,
		kind: 2,
		startTimeUnixNano: now,
		endTimeUnixNano: now + 1_000n,
		...extra,
	} as SpanInit;
}

describe("TelemetryService.Export checks and data handling", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let directory: string;

	before(async () => {
		schema = await createTestSchema("telemetry_export_checks");
		harness = await startTelemetryHarness({
			pool: schema.pool,
			schema: schema.schema,
			env: { TELEMETRY_MAX_EXPORT_ITEMS: "10" },
		});
		directory = await mkdtemp(join(tmpdir(), "telemetry-export-checks-"));
	});

	after(async () => {
		await harness.close();
		await schema.drop();
		await rm(directory, { recursive: true, force: true });
	});

	async function fileExporter(env: string, name: string, extra: Overrides = {}) {
		const path = join(directory, `${name}-${randomSuffix()}.jsonl`);
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ ...extra, name, kind: { case: "file", value: { path } } } as ConfigInit),
		});
		return path;
	}

	test("the redaction replacement is written literally, never read as a replace pattern", async () => {
		const env = `env-${randomSuffix()}`;
		const path = await fileExporter(env, "dollar", {
			redaction: { valuePatterns: ["secret-[0-9]+"], keys: ["password"], replacement: "[$&$'$`]" },
		});
		await harness.telemetry.export({
			environmentId: env,
			resourceSpans: [
				{
					scopeSpans: [
						{
							spans: [
								span("s", {
									attributes: [
										{ key: "token", value: text("my secret-12345 here") },
										{ key: "password", value: text("hunter2") },
									],
								}),
							],
						},
					],
				},
			],
		});
		const [line] = await eventually(async () => {
			const lines = await readLines(path);
			return lines.length > 0 ? lines : undefined;
		}, "the span");
		assert.deepEqual(line?.attributes, { token: "my [$&$'$`] here", password: "[$&$'$`]" });
	});

	test("a string too long to match safely is masked whole by value patterns", async () => {
		const env = `env-${randomSuffix()}`;
		const path = await fileExporter(env, "long", { redaction: { valuePatterns: ["sk-[a-z]+"] } });
		const long = `${"x".repeat(MAX_MATCHED_TEXT_LENGTH)} sk-hidden`;
		await harness.telemetry.export({
			environmentId: env,
			resourceSpans: [
				{ scopeSpans: [{ spans: [span("s", { attributes: [{ key: "body", value: text(long) }] })] }] },
			],
		});
		const [line] = await eventually(async () => {
			const lines = await readLines(path);
			return lines.length > 0 ? lines : undefined;
		}, "the span");
		assert.deepEqual(line?.attributes, { body: "[REDACTED]" });
	});

	test("a polynomial filter pattern does not stall the service on a long value", async () => {
		const env = `env-${randomSuffix()}`;
		const path = await fileExporter(env, "poly", {
			filter: { attributes: [{ key: "body", pattern: ".*.*.*x" }] },
		});
		// Without the backtracking bound, testing this pattern on 800 characters with no
		// `x` takes about a minute on the event loop (and 16,384 characters, which a
		// filter may test, would take days); with it, milliseconds.
		const started = performance.now();
		await harness.telemetry.export({
			environmentId: env,
			resourceSpans: [
				{
					scopeSpans: [
						{
							spans: [
								span("no-x", { attributes: [{ key: "body", value: text("a".repeat(800)) }] }),
								span("has-x", { attributes: [{ key: "body", value: text(`${"a".repeat(800)}x`) }] }),
							],
						},
					],
				},
			],
		});
		const lines = await eventually(async () => {
			const got = await readLines(path);
			return got.length > 0 ? got : undefined;
		}, "the span");
		const elapsedMs = performance.now() - started;
		assert.deepEqual(
			lines.map((line) => line.name),
			["has-x"],
		);
		assert.ok(elapsedMs < 5_000, `filtering took ${Math.round(elapsedMs)} ms`);
	});

	test("an attribute keyed __proto__ is kept as an ordinary attribute and never fakes service.name", async () => {
		const env = `env-${randomSuffix()}`;
		const all = await fileExporter(env, "all");
		const billing = await fileExporter(env, "billing", { filter: { services: ["billing"] } });
		const protoMap = (key: string, value: string) => ({
			key: "__proto__",
			value: { value: { case: "kvlistValue" as const, value: { values: [{ key, value: text(value) }] } } },
		});
		await harness.telemetry.export({
			environmentId: env,
			resourceSpans: [
				{
					resource: { attributes: [protoMap("service.name", "billing")] },
					scopeSpans: [{ spans: [span("faked", { attributes: [protoMap("inner", "x")] })] }],
				},
				{
					resource: { attributes: [{ key: "service.name", value: text("billing") }] },
					scopeSpans: [{ spans: [span("real")] }],
				},
			],
		});
		const lines = await eventually(async () => {
			const got = await readLines(all);
			return got.length >= 2 ? got : undefined;
		}, "both spans");
		const faked = lines.find((l) => l.name === "faked") as {
			attributes: object;
			resource: { attributes: object };
		};
		assert.ok(Object.hasOwn(faked.attributes, "__proto__"), JSON.stringify(faked));
		assert.deepEqual(JSON.parse(JSON.stringify(faked.attributes)), JSON.parse('{"__proto__":{"inner":"x"}}'));
		const billed = await eventually(async () => {
			const got = await readLines(billing);
			return got.length >= 1 ? got : undefined;
		}, "the billing span");
		assert.deepEqual(
			billed.map((l) => l.name),
			["real"],
		);
	});

	test("out-of-range kinds, codes, severities, times, all-zero ids and NaN attributes are refused naming the field", async () => {
		const env = `env-${randomSuffix()}`;
		const path = await fileExporter(env, "nothing");
		const spans = (s: SpanInit): ExportInit => ({
			environmentId: env,
			resourceSpans: [{ scopeSpans: [{ spans: [span("ok"), s] }] }],
		});
		const field = "resource_spans\\[0\\]\\.scope_spans\\[0\\]\\.spans\\[1\\]";
		const cases: Array<[ExportInit, RegExp]> = [
			[spans(span("kind", { kind: 99 as SpanKind })), new RegExp(`${field}\\.kind: 99 is not one of 0 to 5`)],
			[
				spans(span("status", { statusCode: 42 as StatusCode })),
				new RegExp(`${field}\\.status_code: 42 is not one of 0 to 2`),
			],
			[
				spans(span("time", { startTimeUnixNano: 2_000n, endTimeUnixNano: 1_000n })),
				new RegExp(`${field}\\.end_time_unix_nano: 1000 is before start_time_unix_nano 2000`),
			],
			[
				spans(span("zero-trace", { traceId: new Uint8Array(16) })),
				new RegExp(`${field}\\.trace_id: all zero bytes is not a valid id`),
			],
			[
				spans(span("zero-span", { spanId: new Uint8Array(8) })),
				new RegExp(`${field}\\.span_id: all zero bytes is not a valid id`),
			],
			[
				spans(
					span("nan", {
						attributes: [{ key: "n", value: { value: { case: "doubleValue", value: Number.NaN } } }],
					}),
				),
				new RegExp(`${field}\\.attributes: double value NaN is not a finite number`),
			],
			[
				{
					environmentId: env,
					resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 1n, severityNumber: 9999 }] }] }],
				},
				/resource_logs\[0\]\.scope_logs\[0\]\.log_records\[0\]\.severity_number: 9999 is not one of 0 \(unspecified\) to 24/,
			],
		];
		for (const [request, pattern] of cases) {
			await assert.rejects(harness.telemetry.export(request), rejectsWith(Code.InvalidArgument, pattern));
		}
		// Nothing of a refused request reached the exporter.
		await harness.telemetry.export({
			environmentId: env,
			resourceSpans: [{ scopeSpans: [{ spans: [span("after")] }] }],
		});
		const lines = await eventually(async () => {
			const got = await readLines(path);
			return got.length >= 1 ? got : undefined;
		}, "the last span");
		assert.deepEqual(
			lines.map((l) => l.name),
			["after"],
		);
	});

	test("metrics without data points count toward TELEMETRY_MAX_EXPORT_ITEMS", async () => {
		const env = `env-${randomSuffix()}`;
		const metrics = (n: number) =>
			Array.from({ length: n }, (_, i) => ({
				name: `m${i}`,
				data: { case: "gauge" as const, value: { dataPoints: [] } },
			}));
		await assert.rejects(
			harness.telemetry.export({
				environmentId: env,
				resourceMetrics: [{ scopeMetrics: [{ metrics: metrics(11) }] }],
			}),
			rejectsWith(
				Code.ResourceExhausted,
				/request: 11 spans, log records and data points .* over the limit of 10/,
			),
		);
		const accepted = await harness.telemetry.export({
			environmentId: env,
			resourceMetrics: [{ scopeMetrics: [{ metrics: metrics(10) }] }],
		});
		assert.equal(accepted.acceptedDataPoints, 0n);
	});
});
