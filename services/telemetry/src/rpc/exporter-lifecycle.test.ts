import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import { rejectsWith, storedExporters } from "../testing/grpc-assertions.js";
import { started } from "../testing/slow-module-exporter.js";
import {
	eventually,
	quickConfig,
	spansRequest,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

const fixture = (name: string) => fileURLToPath(new URL(`../testing/${name}`, import.meta.url));

/** Resolves with the work's outcome, or rejects when it takes longer than ms. */
function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
	});
	return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

describe("exporter lifecycle through gRPC", () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;

	before(async () => {
		schema = await createTestSchema("telemetry_lifecycle");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
	});

	after(async () => {
		await harness.close();
		await schema.drop();
	});

	test("a module whose import or factory never settles is refused within the exporter's timeout", async () => {
		const env = `env-${randomSuffix()}`;
		for (const [name, file] of [
			["hung-factory", "never-settling-factory-module.ts"],
			["hung-import", "never-loading-module.ts"],
		] as const) {
			await assert.rejects(
				within(
					harness.registry.registerExporter({
						environmentId: env,
						config: quickConfig({
							name,
							kind: { case: "module", value: { path: fixture(file) } },
							timeout: { nanos: 300_000_000 },
						}),
					}),
					5_000,
					`registering ${name}`,
				),
				rejectsWith(
					Code.InvalidArgument,
					/config\.module\.path: module .* did not load and build its exporter within 300 ms/,
				),
			);
		}
		assert.equal(await storedExporters(schema.pool, env), 0);
	});

	test("deleting an exporter whose shutdown hangs holds no registry change elsewhere", async () => {
		const env = `env-${randomSuffix()}`;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "hangs",
				kind: { case: "module", value: { path: fixture("hanging-shutdown-module.ts") } },
				// The shutdown is waited for up to this long; the calls below must not be.
				timeout: { seconds: 6n },
			}),
		});
		const deleted = within(
			harness.registry.deleteExporter({ environmentId: env, name: "hangs" }),
			3_000,
			"the delete",
		);
		const other = `env-${randomSuffix()}`;
		await within(
			harness.registry.registerExporter({
				environmentId: other,
				config: quickConfig({ name: "elsewhere", kind: { case: "console", value: {} } }),
			}),
			3_000,
			"a registration in another environment",
		);
		await deleted;
		assert.equal(await storedExporters(schema.pool, env), 0);
	});

	test("counters keep an update's aborted in-flight batch and survive a disable and enable", async () => {
		const env = `env-${randomSuffix()}`;
		const key = `slow-${randomSuffix()}`;
		const config = (delayMs: number, enabled = true) =>
			quickConfig({
				name: "slow",
				enabled,
				kind: {
					case: "module",
					value: { path: fixture("slow-module-exporter.ts"), options: { key, delayMs } },
				},
				timeout: { seconds: 30n },
			});
		const status = async () =>
			(await harness.registry.getExporter({ environmentId: env, name: "slow" })).exporter?.status;
		await harness.registry.registerExporter({ environmentId: env, config: config(10_000) });
		await harness.telemetry.export(spansRequest(env, [{ name: "a" }, { name: "b" }, { name: "c" }]));
		await eventually(() => ((started.get(key)?.length ?? 0) >= 3 ? true : undefined), "the batch in flight");
		// The update aborts the batch in flight: it is dropped, and the new exporter's counters show it.
		await harness.registry.updateExporter({ environmentId: env, name: "slow", config: config(0) });
		await eventually(async () => ((await status())?.dropped === 3n ? true : undefined), "3 dropped");
		await harness.telemetry.export(spansRequest(env, [{ name: "d" }]));
		await eventually(async () => ((await status())?.exported === 1n ? true : undefined), "1 exported");
		await harness.registry.updateExporter({ environmentId: env, name: "slow", config: config(0, false) });
		const disabled = await status();
		assert.equal(disabled?.exported, 1n);
		assert.equal(disabled?.dropped, 3n);
		await harness.registry.updateExporter({ environmentId: env, name: "slow", config: config(0) });
		const enabled = await status();
		assert.equal(enabled?.exported, 1n);
		assert.equal(enabled?.dropped, 3n);
		assert.equal(enabled?.failed, 0n);
	});

	test("TestExporter on a module without a traces exporter says which signals it takes", async () => {
		const env = `env-${randomSuffix()}`;
		await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "logs-only",
				kind: { case: "module", value: { path: fixture("logs-only-module-exporter.ts") } },
			}),
		});
		const result = await harness.registry.testExporter({ environmentId: env, name: "logs-only" });
		assert.equal(result.ok, false);
		assert.equal(result.error, "this exporter does not take traces; it takes logs");
	});
});
