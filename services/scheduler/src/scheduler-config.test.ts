import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "../../kit/src/index.js";
import { loadSchedulerConfig } from "./scheduler-config.js";

const MiB = 1024 * 1024;

describe("scheduler configuration", () => {
	test("the defaults cap outputs at 8 MiB and carry 4 MiB of older waits' results inline", () => {
		const config = loadSchedulerConfig({});
		assert.equal(config.SCHEDULER_MAX_OUTPUT_BYTES, 8 * MiB);
		assert.equal(config.SCHEDULER_RESOLVED_WAITS_INLINE_BYTES, 4 * MiB);
	});

	test("run metadata is capped at 256 KiB by default, and at most 512 KiB, the half of an answer's headroom", () => {
		assert.equal(loadSchedulerConfig({}).SCHEDULER_MAX_METADATA_BYTES, 256 * 1024);
		assert.equal(
			loadSchedulerConfig({ SCHEDULER_MAX_METADATA_BYTES: String(512 * 1024) }).SCHEDULER_MAX_METADATA_BYTES,
			512 * 1024,
		);
		assert.throws(
			() => loadSchedulerConfig({ SCHEDULER_MAX_METADATA_BYTES: String(512 * 1024 + 1) }),
			(error: unknown) => error instanceof ConfigError && /SCHEDULER_MAX_METADATA_BYTES/.test(error.message),
		);
	});

	test("limits whose StartAttempt answer could pass the gRPC message limit are refused, naming the variables", () => {
		assert.throws(
			() => loadSchedulerConfig({ SCHEDULER_MAX_OUTPUT_BYTES: String(12 * MiB) }),
			(error: unknown) =>
				error instanceof ConfigError &&
				/SCHEDULER_MAX_PAYLOAD_BYTES \+ SCHEDULER_MAX_OUTPUT_BYTES \+ SCHEDULER_RESOLVED_WAITS_INLINE_BYTES = 19922944: must be at most 15728640/.test(
					error.message,
				),
		);
		// A larger gRPC message limit makes room for them.
		const config = loadSchedulerConfig({ SCHEDULER_MAX_OUTPUT_BYTES: String(12 * MiB) }, 32 * MiB);
		assert.equal(config.SCHEDULER_MAX_OUTPUT_BYTES, 12 * MiB);
	});
});
