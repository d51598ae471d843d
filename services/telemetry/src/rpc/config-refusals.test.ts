import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { rejectsWith, storedExporters } from "../testing/grpc-assertions.js";
import { factoryCalls } from "../testing/recording-module-exporter.js";
import { quickConfig, startTelemetryHarness, type TelemetryHarness } from "../testing/telemetry-harness.js";

const recordingModule = fileURLToPath(new URL("../testing/recording-module-exporter.ts", import.meta.url));

type ConfigInit = Parameters<typeof quickConfig>[0];

describe("RegisterExporter refuses configs that could not work, naming the field", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let directory: string;

	before(async () => {
		schema = await createTestSchema("telemetry_refusals");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		directory = await mkdtemp(join(tmpdir(), "telemetry-refusals-"));
	});

	after(async () => {
		await harness.close();
		await schema.drop();
		await rm(directory, { recursive: true, force: true });
	});

	/** Registers each config, expecting INVALID_ARGUMENT matching its pattern, and that nothing was stored. */
	async function refusesAll(cases: Array<[ConfigInit, RegExp]>): Promise<void> {
		const env = `env-${randomSuffix()}`;
		for (const [init, pattern] of cases) {
			await assert.rejects(
				harness.registry.registerExporter({ environmentId: env, config: quickConfig(init) }),
				rejectsWith(Code.InvalidArgument, pattern),
				String(pattern),
			);
		}
		assert.equal(await storedExporters(schema.pool, env), 0);
	}

	const console = { case: "console" as const, value: {} };

	test("malformed Durations are refused naming config.timeout or config.batching.max_delay", async () => {
		await refusesAll([
			[
				{ name: "mixed-sign", kind: console, timeout: { seconds: 1n, nanos: -500_000_000 } },
				/config\.timeout: nanos -500000000 must have the sign of seconds 1/,
			],
			[
				{ name: "nanos-over", kind: console, timeout: { nanos: 2_000_000_000 } },
				/config\.timeout: nanos 2000000000 must be within -999,999,999 to 999,999,999/,
			],
			[
				{
					name: "delay-over",
					kind: console,
					batching: { maxBatchSize: 10, maxDelay: { nanos: 1_500_000_000 } },
				},
				/config\.batching\.max_delay: nanos 1500000000 must be within/,
			],
		]);
	});

	test("module options holding NaN or Infinity are refused before the module's factory runs", async () => {
		const key = `nan-${randomSuffix()}`;
		await refusesAll([
			[
				{
					name: "nan",
					kind: {
						case: "module",
						value: { path: recordingModule, options: { key, deep: { n: Number.NaN } } },
					},
				},
				/config\.module\.options\.deep\.n: NaN is not a finite number/,
			],
			[
				{
					name: "inf",
					kind: {
						case: "module",
						value: { path: recordingModule, options: { key, list: [1, Number.NEGATIVE_INFINITY] } },
					},
				},
				/config\.module\.options\.list\[1\]: -Infinity is not a finite number/,
			],
		]);
		assert.deepEqual(
			factoryCalls.filter((k) => k === key),
			[],
		);
	});

	test("patterns that can backtrack catastrophically are refused at registration", async () => {
		await refusesAll([
			[
				{
					name: "filter-redos",
					kind: console,
					filter: { attributes: [{ key: "user", pattern: "^(a+)+$" }] },
				},
				/config\.filter\.attributes\[0\]\.pattern: "\^\(a\+\)\+\$" may backtrack catastrophically/,
			],
			[
				{ name: "value-redos", kind: console, redaction: { valuePatterns: ["ok", "(x+x+)+y"] } },
				/config\.redaction\.value_patterns\[1\]: .* may backtrack catastrophically/,
			],
			[
				{ name: "key-redos", kind: console, redaction: { keyPatterns: ["(a*)*b"] } },
				/config\.redaction\.key_patterns\[0\]: .* may backtrack catastrophically/,
			],
		]);
	});

	test("polynomial patterns the linear-time engine cannot finish are refused; those it can are kept", async () => {
		await refusesAll([
			[
				{ name: "counted", kind: console, redaction: { valuePatterns: ["[a-z]{20,}[a-z]{20,}x"] } },
				/config\.redaction\.value_patterns\[0\]: .* repetition count of 16 or more, .* allow 4\.4e\+12 backtracking paths on 16384 characters, over the limit of 536870912/,
			],
			[
				{
					name: "lookahead",
					kind: console,
					filter: { attributes: [{ key: "user", pattern: "(?=a).*.*x" }] },
				},
				/config\.filter\.attributes\[0\]\.pattern: "\(\?=a\)\.\*\.\*x" uses lookahead/,
			],
		]);
		const env = `env-${randomSuffix()}`;
		// The linear-time engine finishes `.*.*.*x`; `[a-z]{20,}x` and a backreference
		// stay within the bound with one unbounded quantifier each.
		for (const [name, pattern] of [
			["fallback", ".*.*.*x"],
			["one-count", "[a-z]{20,}x"],
			["backreference", "(a)[a-z]*\\1x"],
		]) {
			await harness.registry.registerExporter({
				environmentId: env,
				config: quickConfig({ name, kind: console, redaction: { valuePatterns: [pattern as string] } }),
			});
		}
		assert.equal(await storedExporters(schema.pool, env), 3);
	});

	test("filter and redaction lists over their count limits are refused", async () => {
		const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
		await refusesAll([
			[
				{ name: "values", kind: console, redaction: { valuePatterns: many(101, "secret") } },
				/config\.redaction\.value_patterns: 101 entries is over the limit of 100/,
			],
			[
				{ name: "key-patterns", kind: console, redaction: { keyPatterns: many(101, "k") } },
				/config\.redaction\.key_patterns: 101 entries is over the limit of 100/,
			],
			[
				{ name: "keys", kind: console, redaction: { keys: many(1_001, "k") } },
				/config\.redaction\.keys: 1001 entries is over the limit of 1000/,
			],
			[
				{ name: "services", kind: console, filter: { services: many(1_001, "s") } },
				/config\.filter\.services: 1001 entries is over the limit of 1000/,
			],
			[
				{ name: "tasks", kind: console, filter: { taskIds: many(1_001, "t") } },
				/config\.filter\.task_ids: 1001 entries is over the limit of 1000/,
			],
			[
				{
					name: "attributes",
					kind: console,
					filter: { attributes: many(101, "k").map((key) => ({ key, equals: "x" })) },
				},
				/config\.filter\.attributes: 101 entries is over the limit of 100/,
			],
			[
				{
					name: "headers",
					kind: {
						case: "otlpHttp",
						value: {
							endpoint: "http://127.0.0.1:4318",
							headers: Object.fromEntries(many(65, "x-h").map((h) => [h, "v"])),
						},
					},
				},
				/config\.otlp_http\.headers: 65 entries is over the limit of 64/,
			],
		]);
	});

	test("targets that can never work are refused naming the field", async () => {
		const grpc = (headers: Record<string, string>) => ({
			case: "otlpGrpc" as const,
			value: { endpoint: "http://127.0.0.1:4317", headers },
		});
		const http = (headers: Record<string, string>) => ({
			case: "otlpHttp" as const,
			value: { endpoint: "http://127.0.0.1:4318", headers },
		});
		await refusesAll([
			[
				{ name: "port-0", kind: { case: "plugin", value: { address: "127.0.0.1:0" } } },
				/config\.plugin\.address: port 0 must be 1 to 65535/,
			],
			[
				{ name: "port-big", kind: { case: "plugin", value: { address: "127.0.0.1:99999" } } },
				/config\.plugin\.address: port 99999 must be 1 to 65535/,
			],
			[
				{ name: "grpc-key", kind: grpc({ "bad key": "x" }) },
				/config\.otlp_grpc\.headers\["bad key"\]: a gRPC metadata key holds only/,
			],
			[
				{ name: "grpc-bin", kind: grpc({ "auth-bin": "x" }) },
				/config\.otlp_grpc\.headers\["auth-bin"\]: .*-bin/,
			],
			[
				{ name: "http-name", kind: http({ "bad key": "x" }) },
				/config\.otlp_http\.headers\["bad key"\]: the name must be an HTTP token/,
			],
			[
				{ name: "http-crlf", kind: http({ "x-api-key": "a\r\nInjected: 1" }) },
				/config\.otlp_http\.headers\["x-api-key"\]: the value must not hold CR, LF/,
			],
			[
				{ name: "file-dir", kind: { case: "file", value: { path: directory } } },
				/config\.file\.path: .* is a directory; name a file/,
			],
			[
				{ name: "file-slash", kind: { case: "file", value: { path: `${directory}/out/` } } },
				/config\.file\.path: .* names a directory; name a file/,
			],
		]);
	});

	test("empty pattern entries are refused instead of matching everywhere", async () => {
		await refusesAll([
			[
				{ name: "empty-value", kind: console, redaction: { valuePatterns: ["sk-[a-z]+", ""] } },
				/config\.redaction\.value_patterns\[1\]: must not be empty/,
			],
			[
				{ name: "empty-key", kind: console, redaction: { keyPatterns: [""] } },
				/config\.redaction\.key_patterns\[0\]: must not be empty/,
			],
		]);
	});
});
