import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvalidExporterConfig } from "../core/exporter-errors.js";
import { assertUnderRoots } from "./allowed-roots.js";

describe("assertUnderRoots", () => {
	const check = (path: string, roots: string[]) =>
		assertUnderRoots(path, roots, "config.file.path", "TELEMETRY_FILE_ROOTS");

	test("allows any path when no roots are configured", async () => {
		await assert.doesNotReject(check("/etc/passwd", []));
	});

	test("allows a path inside a root and refuses escapes, siblings and the root itself", async () => {
		await assert.doesNotReject(check("/var/telemetry/out.jsonl", ["/srv", "/var/telemetry"]));
		for (const path of [
			"/var/telemetry/../passwd",
			"/var/telemetry-other/x",
			"/var/telemetry",
			"relative/x",
		]) {
			await assert.rejects(
				check(path, ["/var/telemetry"]),
				(error: unknown) =>
					error instanceof InvalidExporterConfig &&
					error.field === "config.file.path" &&
					error.description.includes("TELEMETRY_FILE_ROOTS"),
				path,
			);
		}
	});
});
