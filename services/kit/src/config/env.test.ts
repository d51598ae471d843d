import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError } from "./env.js";
import { loadPlatformConfig } from "./platform-config.js";

describe("platform configuration", () => {
	test("defaults apply when nothing is set", () => {
		const config = loadPlatformConfig({});
		assert.equal(config.TASKMESH_QUEUE_PORT, 50051);
		assert.equal(config.TASKMESH_TELEMETRY_PORT, 50055);
		assert.match(config.DATABASE_URL, /^postgres:\/\/[a-z_]+@127\.0\.0\.1:5432\/test$/);
		assert.equal(config.OTEL_ENABLED, true);
		assert.equal(config.TASKMESH_ENV, "development");
	});

	test("values are parsed and an empty variable counts as unset", () => {
		const config = loadPlatformConfig({ TASKMESH_BATCH_PORT: "6000", OTEL_ENABLED: "no", LOG_LEVEL: "" });
		assert.equal(config.TASKMESH_BATCH_PORT, 6000);
		assert.equal(config.OTEL_ENABLED, false);
		assert.equal(config.LOG_LEVEL, "info");
	});

	test("every bad variable is named with its value and what is accepted", () => {
		assert.throws(
			() =>
				loadPlatformConfig({
					TASKMESH_SCHEDULER_PORT: "70000",
					DATABASE_URL: "mysql://db/test",
					REDIS_CLUSTER_NODES: "a:1,b",
				}),
			(error: unknown) => {
				assert.ok(error instanceof ConfigError);
				assert.equal(error.problems.length, 3);
				assert.match(
					error.message,
					/TASKMESH_SCHEDULER_PORT="70000": expected a whole number from 0 to 65535/,
				);
				assert.match(
					error.message,
					/DATABASE_URL="mysql:\/\/db\/test": expected a URL starting with postgres:\/\/ or postgresql:\/\//,
				);
				assert.match(error.message, /REDIS_CLUSTER_NODES="a:1,b": expected host:port\[,host:port...\]/);
				return true;
			},
		);
	});
});
