import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { ExporterHealth } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import {
	eventually,
	quickConfig,
	readLines,
	spansRequest,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

const noFactory = fileURLToPath(new URL("../testing/module-without-factory.ts", import.meta.url));

function rejectsWith(code: Code, pattern: RegExp) {
	return (error: unknown) => {
		assert.ok(error instanceof ConnectError, String(error));
		assert.equal(error.code, code, error.message);
		assert.match(error.message, pattern);
		return true;
	};
}

describe("ExporterRegistryService through gRPC", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let directory: string;

	before(async () => {
		schema = await createTestSchema("telemetry_registry");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		directory = await mkdtemp(join(tmpdir(), "telemetry-registry-"));
	});

	after(async () => {
		await harness.close();
		await schema.drop();
		await rm(directory, { recursive: true, force: true });
	});

	test("bad configs are refused with the field named and nothing is stored", async () => {
		const env = `env-${randomSuffix()}`;
		const register = (config: ReturnType<typeof quickConfig>) =>
			harness.registry.registerExporter({ environmentId: env, config });
		await assert.rejects(
			register(quickConfig({ name: "no-kind" })),
			rejectsWith(Code.InvalidArgument, /config\.kind/),
		);
		await assert.rejects(
			register(
				quickConfig({ name: "bad-url", kind: { case: "otlpHttp", value: { endpoint: "not a url" } } }),
			),
			rejectsWith(Code.InvalidArgument, /config\.otlp_http\.endpoint: "not a url" is not a valid URL/),
		);
		await assert.rejects(
			register(quickConfig({ name: "ftp", kind: { case: "otlpGrpc", value: { endpoint: "ftp://x:1" } } })),
			rejectsWith(
				Code.InvalidArgument,
				/config\.otlp_grpc\.endpoint: .* must start with http:\/\/ or https:\/\//,
			),
		);
		await assert.rejects(
			register(
				quickConfig({
					name: "missing",
					kind: { case: "module", value: { path: join(directory, "nope.js") } },
				}),
			),
			rejectsWith(Code.InvalidArgument, /config\.module\.path: module .* could not be loaded/),
		);
		await assert.rejects(
			register(quickConfig({ name: "nofactory", kind: { case: "module", value: { path: noFactory } } })),
			rejectsWith(Code.InvalidArgument, /config\.module\.path: module .* exports no factory/),
		);
		await assert.rejects(
			register(
				quickConfig({
					name: "bad-pattern",
					kind: { case: "console", value: {} },
					redaction: { keyPatterns: ["(unclosed"] },
				}),
			),
			rejectsWith(Code.InvalidArgument, /redaction\.key_patterns\[0\]: invalid regular expression/),
		);
		await assert.rejects(
			register(quickConfig({ name: "bad name!", kind: { case: "console", value: {} } })),
			rejectsWith(Code.InvalidArgument, /config\.name/),
		);
		await assert.rejects(
			register(
				quickConfig({ name: "big-queue", kind: { case: "console", value: {} }, queueSize: 2_000_000 }),
			),
			rejectsWith(Code.InvalidArgument, /config\.queue_size: 2000000 is over the limit of 1000000/),
		);
		const listed = await harness.registry.listExporters({ environmentId: env });
		assert.deepEqual(listed.exporters, []);
		const rows = await schema.pool.query(
			"SELECT count(*)::int AS n FROM exporters WHERE environment_id = $1",
			[env],
		);
		assert.equal(rows.rows[0].n, 0);
	});

	test("a duplicate name is refused with ALREADY_EXISTS and the first entry is kept", async () => {
		const env = `env-${randomSuffix()}`;
		const path = join(directory, `dup-${randomSuffix()}.jsonl`);
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "dup", kind: { case: "file", value: { path } } }),
		});
		await assert.rejects(
			harness.registry.registerExporter({
				environmentId: env,
				config: quickConfig({ name: "dup", kind: { case: "console", value: {} } }),
			}),
			rejectsWith(Code.AlreadyExists, /"dup" already exists/),
		);
		const got = await harness.registry.getExporter({ environmentId: env, name: "dup" });
		assert.equal(got.exporter?.config?.kind.case, "file");
		assert.equal(got.exporter?.revision, 1n);
	});

	test("a plugin that does not answer is registered and reported unhealthy with the error", async () => {
		const env = `env-${randomSuffix()}`;
		// Port 1 on loopback refuses connections.
		const registered = await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "gone", kind: { case: "plugin", value: { address: "127.0.0.1:1" } } }),
		});
		assert.equal(registered.exporter?.status?.health, ExporterHealth.UNHEALTHY);
		assert.match(
			registered.exporter?.status?.lastError ?? "",
			/plugin at 127\.0\.0\.1:1 did not answer Describe/,
		);
		const tested = await harness.registry.testExporter({ environmentId: env, name: "gone" });
		assert.equal(tested.ok, false);
		assert.match(tested.error, /plugin at 127\.0\.0\.1:1/);
	});

	test("a hot update of the filter changes what the exporter receives without a restart", async () => {
		const env = `env-${randomSuffix()}`;
		const path = join(directory, `filter-${randomSuffix()}.jsonl`);
		const config = quickConfig({
			name: "filtered",
			kind: { case: "file", value: { path } },
			filter: { services: ["billing"] },
		});
		const first = await harness.registry.registerExporter({ environmentId: env, config });
		await harness.telemetry.export(
			spansRequest(env, [
				{ name: "b1", service: "billing" },
				{ name: "s1", service: "search" },
			]),
		);
		await eventually(async () => ((await readLines(path)).length >= 1 ? true : undefined), "billing span");
		config.filter = {
			$typeName: "taskmesh.telemetry.v1.ExporterFilter",
			signals: [],
			services: ["search"],
			taskIds: [],
			attributes: [],
		};
		const updated = await harness.registry.updateExporter({
			environmentId: env,
			name: "filtered",
			config,
			expectedRevision: first.exporter?.revision ?? 0n,
		});
		assert.equal(updated.exporter?.revision, 2n);
		await harness.telemetry.export(
			spansRequest(env, [
				{ name: "b2", service: "billing" },
				{ name: "s2", service: "search" },
			]),
		);
		const lines = await eventually(async () => {
			const all = await readLines(path);
			return all.some((l) => l.name === "s2") ? all : undefined;
		}, "search span after the update");
		assert.deepEqual(
			lines.map((l) => l.name),
			["b1", "s2"],
		);
		await assert.rejects(
			harness.registry.updateExporter({ environmentId: env, name: "filtered", config, expectedRevision: 1n }),
			rejectsWith(Code.FailedPrecondition, /expected_revision: exporter "filtered" is at revision 2, not 1/),
		);
	});

	test("the registry survives a restart and another replica picks up changes", async () => {
		const env = `env-${randomSuffix()}`;
		const path = join(directory, `restart-${randomSuffix()}.jsonl`);
		const replica = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		try {
			const registered = await harness.registry.registerExporter({
				environmentId: env,
				config: quickConfig({ name: "durable", kind: { case: "file", value: { path } } }),
			});
			const id = registered.exporter?.id ?? "";
			// The replica hears of it through LISTEN/NOTIFY, not from its periodic reload.
			await eventually(() => replica.runtime.fanout.revisionOf(id), "the replica to run the new exporter");
			await replica.telemetry.export(spansRequest(env, [{ name: "via-replica" }]));
			await eventually(
				async () => ((await readLines(path)).length >= 1 ? true : undefined),
				"replica's span",
			);
		} finally {
			await replica.close();
		}
		const restarted = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
		try {
			const listed = await restarted.registry.listExporters({ environmentId: env });
			assert.deepEqual(
				listed.exporters.map((e) => e.config?.name),
				["durable"],
			);
			await restarted.telemetry.export(spansRequest(env, [{ name: "after-restart" }]));
			const lines = await eventually(async () => {
				const all = await readLines(path);
				return all.length >= 2 ? all : undefined;
			}, "span after restart");
			assert.deepEqual(
				lines.map((l) => l.name),
				["via-replica", "after-restart"],
			);
		} finally {
			await restarted.close();
		}
	});

	test("delete removes the exporter everywhere and a second delete is NOT_FOUND", async () => {
		const env = `env-${randomSuffix()}`;
		const registered = await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "temp", kind: { case: "console", value: { compact: true } } }),
		});
		await harness.registry.deleteExporter({ environmentId: env, name: "temp" });
		assert.equal(harness.runtime.fanout.revisionOf(registered.exporter?.id ?? ""), undefined);
		await assert.rejects(
			harness.registry.deleteExporter({ environmentId: env, name: "temp" }),
			rejectsWith(Code.NotFound, /exporter "temp" was not found/),
		);
		await assert.rejects(
			harness.registry.getExporter({ environmentId: "", name: "temp" }),
			rejectsWith(Code.InvalidArgument, /environment_id: is required/),
		);
	});

	test("TestExporter sends one span through the exporter and reports success", async () => {
		const env = `env-${randomSuffix()}`;
		const path = join(directory, `test-${randomSuffix()}.jsonl`);
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({ name: "probe", kind: { case: "file", value: { path } } }),
		});
		const result = await harness.registry.testExporter({ environmentId: env, name: "probe" });
		assert.equal(result.ok, true, result.error);
		const lines = await readLines(path);
		assert.equal(lines.length, 1);
		assert.equal(lines[0]?.name, "taskmesh.exporter.test");
	});
});
