import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createTestSchema, randomSuffix, type TestSchema } from "../../../kit/src/testing/stores.js";
import {
	eventually,
	quickConfig,
	readLines,
	spansRequest,
	startTelemetryHarness,
	type TelemetryHarness,
} from "../testing/telemetry-harness.js";

const example = fileURLToPath(new URL("../../../../examples/telemetry-plugin-python/", import.meta.url));
const PYTHON = "/usr/bin/python3";

/** Why the Python example cannot run here (Debian packages missing), or undefined. */
function missingTools(): string | undefined {
	try {
		execFileSync(PYTHON, ["-c", "import grpc"], { stdio: "ignore" });
		execFileSync("protoc", ["--version"], { stdio: "ignore" });
		execFileSync("sh", ["-c", "command -v grpc_python_plugin"], { stdio: "ignore" });
		return undefined;
	} catch {
		return "needs python3-grpcio, protobuf-compiler and protobuf-compiler-grpc (apt)";
	}
}

const skip = missingTools();

describe("the Python plugin example", { skip }, () => {
	let schema: TestSchema;
	let harness: TelemetryHarness;
	let directory: string;
	let plugin: ChildProcess | undefined;
	let address = "";

	before(async () => {
		directory = await mkdtemp(join(tmpdir(), "telemetry-python-"));
		execFileSync("sh", [join(example, "generate.sh"), join(directory, "stubs")], { stdio: "ignore" });
		plugin = spawn(
			PYTHON,
			[
				join(example, "plugin.py"),
				"--port",
				"0",
				"--output",
				join(directory, "out.jsonl"),
				"--stubs",
				join(directory, "stubs"),
			],
			{ stdio: ["ignore", "ignore", "pipe"] },
		);
		address = await new Promise<string>((resolve, reject) => {
			let text = "";
			plugin?.stderr?.on("data", (chunk: Buffer) => {
				text += chunk.toString("utf8");
				const line = text.split("\n")[0] ?? "";
				if (text.includes("\n")) {
					try {
						resolve((JSON.parse(line) as { listening: string }).listening);
					} catch {
						reject(new Error(`the plugin did not start: ${text}`));
					}
				}
			});
			plugin?.once("exit", (code) => reject(new Error(`the plugin exited with ${code}: ${text}`)));
		});
		schema = await createTestSchema("telemetry_python");
		harness = await startTelemetryHarness({ pool: schema.pool, schema: schema.schema });
	});

	after(async () => {
		await harness?.close();
		if (plugin !== undefined && plugin.exitCode === null) {
			const exited = new Promise((resolve) => plugin?.once("exit", resolve));
			plugin.kill("SIGTERM");
			await exited;
		}
		await schema?.drop();
		await rm(directory, { recursive: true, force: true });
	});

	test("spans exported to an environment reach the Python plugin, which writes them as JSON lines", async () => {
		const env = `env-${randomSuffix()}`;
		const registered = await harness.registry.registerExporter({
			environmentId: env,
			config: quickConfig({
				name: "python",
				kind: { case: "plugin", value: { address } },
				redaction: { keys: ["secret"] },
			}),
		});
		assert.equal(registered.exporter?.status?.lastError, "");
		await harness.telemetry.export(
			spansRequest(env, [
				{ name: "py-1", attributes: { secret: "s3cr3t", plain: "ok" } },
				{ name: "py-2", service: "other" },
			]),
		);
		const lines = await eventually(async () => {
			const all = await readLines(join(directory, "out.jsonl"));
			return all.length >= 2 ? all : undefined;
		}, "two lines from the Python plugin");
		const byName = new Map(lines.map((l) => [l.name, l]));
		assert.deepEqual([...byName.keys()].sort(), ["py-1", "py-2"]);
		assert.deepEqual(byName.get("py-1")?.attributes, { secret: "[REDACTED]", plain: "ok" });
		assert.equal(byName.get("py-2")?.service, "other");
		assert.equal(byName.get("py-1")?.exporter, "python");
		assert.equal(byName.get("py-1")?.environment, env);
	});
});
