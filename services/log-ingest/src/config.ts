import { z } from "zod";
import { type Environment, intVar, parseEnv } from "../../kit/src/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Variables only the log-ingest service reads; see services/log-ingest/README.md. */
export const logIngestEnvSchema = z.object({
	LOG_INGEST_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier (a-z, 0-9, _)" })
		.default("log_ingest"),
	LOG_INGEST_MAX_MESSAGE_BYTES: intVar(64 * MiB, KiB, 1024 * MiB),
	LOG_INGEST_MAX_CHUNK_BYTES: intVar(4 * MiB, KiB, 64 * MiB),
	LOG_INGEST_MAX_CHUNKS: intVar(16_384, 1, 1_000_000),
	LOG_INGEST_MAX_FRAME_BYTES: intVar(4 * MiB, 64 * KiB, 256 * MiB),
	LOG_INGEST_MAX_FRAME_INFLATED_BYTES: intVar(64 * MiB, 64 * KiB, 1024 * MiB),
	LOG_INGEST_INLINE_BODY_BYTES: intVar(64 * KiB, KiB, 4 * MiB),
	LOG_INGEST_INCOMPLETE_AFTER_MS: intVar(300_000, 1_000, 86_400_000),
	LOG_INGEST_SWEEP_INTERVAL_MS: intVar(10_000, 100, 3_600_000),
	LOG_INGEST_TAIL_POLL_MS: intVar(5_000, 100, 600_000),
	LOG_INGEST_STREAM_WINDOW_BYTES: intVar(4 * MiB, 64 * KiB, 64 * MiB),
	LOG_INGEST_CONNECTION_WINDOW_BYTES: intVar(16 * MiB, 64 * KiB, 1024 * MiB),
});

/** The HTTP/2 receive windows Ingest is served with (see ReceiveWindows in the kit). */
export function receiveWindowsOf(config: LogIngestConfig) {
	return {
		streamBytes: config.LOG_INGEST_STREAM_WINDOW_BYTES,
		connectionBytes: config.LOG_INGEST_CONNECTION_WINDOW_BYTES,
	};
}

/** Parsed log-ingest configuration. */
export type LogIngestConfig = z.infer<typeof logIngestEnvSchema>;

/** Reads the log-ingest variables once; throws ConfigError naming each bad one. */
export function loadLogIngestConfig(env: Environment = process.env): LogIngestConfig {
	return parseEnv(logIngestEnvSchema, env);
}
