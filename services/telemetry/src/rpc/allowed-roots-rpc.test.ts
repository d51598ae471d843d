import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { rejectsWith, storedExporters } from "../testing/grpc-assertions.js";
import { quickConfig, startTelemetryHarness, type TelemetryHarness } from "../testing/telemetry-harness.js";

describe("TELEMETRY_FILE_ROOTS and TELEMETRY_MODULE_ROOTS through gRPC", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let base: string;
	let root: string;
	let outside: string;

	before(async () => {
		base = await mkdtemp(join(tmpdir(), "telemetry-roots-"));
		root = join(base, "allowed");
		outside = join(base, "outside");
		await mkdir(root);
		await mkdir(outside);
		// A symlink inside the root that leads out of it.
		await symlink(outside, join(root, "link"));
		await writeFile(
			join(outside, "escaped.mjs"),
			"globalThis.__telemetryEscapedModuleLoaded = true;\nexport default () => ({ export(_i, done) { done({ code: 0 }); }, async shutdown() {} });\n",
		);
		schema = await createTestSchema("telemetry_roots");
		harness = await startTelemetryHarness({
			pool: schema.pool,
			schema: schema.schema,
			env: { TELEMETRY_FILE_ROOTS: root, TELEMETRY_MODULE_ROOTS: root },
		});
	});

	after(async () => {
		await harness.close();
		await schema.drop();
		await rm(base, { recursive: true, force: true });
	});

	test("a symlink inside a root does not let a file or module exporter out of it", async () => {
		const env = `env-${randomSuffix()}`;
		await assert.rejects(
			harness.registry.registerExporter({
				environmentId: env,
				config: quickConfig({
					name: "file",
					kind: { case: "file", value: { path: join(root, "link", "x.jsonl") } },
				}),
			}),
			rejectsWith(Code.InvalidArgument, /config\.file\.path: .* is not under .* \(TELEMETRY_FILE_ROOTS\)/),
		);
		await assert.rejects(
			harness.registry.registerExporter({
				environmentId: env,
				config: quickConfig({
					name: "module",
					kind: { case: "module", value: { path: join(root, "link", "escaped.mjs") } },
				}),
			}),
			rejectsWith(
				Code.InvalidArgument,
				/config\.module\.path: .* is not under .* \(TELEMETRY_MODULE_ROOTS\)/,
			),
		);
		assert.equal(
			(globalThis as { __telemetryEscapedModuleLoaded?: boolean }).__telemetryEscapedModuleLoaded,
			undefined,
		);
		assert.equal(await storedExporters(schema.pool, env), 0);
		assert.equal(await readFile(join(outside, "x.jsonl"), "utf8").catch(() => "none"), "none");
		// A file directly under the root, not yet created, is still accepted.
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "inside",
				kind: { case: "file", value: { path: join(root, "out.jsonl") } },
			}),
		});
		assert.equal(await storedExporters(schema.pool, env), 1);
	});
});
