import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../kit/src/index.js";
import { loadLogIngestConfig } from "./config.js";

test("log-ingest settings default to a 64 MiB cap, 64 KiB inline bodies and the log_ingest schema", () => {
	const config = loadLogIngestConfig({});
	assert.equal(config.LOG_INGEST_MAX_MESSAGE_BYTES, 64 * 1024 * 1024);
	assert.equal(config.LOG_INGEST_INLINE_BODY_BYTES, 64 * 1024);
	assert.equal(config.LOG_INGEST_DATABASE_SCHEMA, "log_ingest");
});

test("a bad log-ingest variable is refused with its name, its value and what is accepted", () => {
	assert.throws(
		() => loadLogIngestConfig({ LOG_INGEST_MAX_MESSAGE_BYTES: "lots", LOG_INGEST_DATABASE_SCHEMA: "Logs-1" }),
		(error: unknown) =>
			error instanceof ConfigError &&
			/LOG_INGEST_MAX_MESSAGE_BYTES="lots": expected a whole number from 1024 to 1073741824/.test(
				error.message,
			) &&
			/LOG_INGEST_DATABASE_SCHEMA="Logs-1": expected a lower-case SQL identifier/.test(error.message),
	);
});
