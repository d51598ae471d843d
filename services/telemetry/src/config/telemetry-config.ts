import { z } from "zod";
import { type Environment, intVar, parseEnv } from "../../../kit/src/index.js";

/** Variables of the telemetry service (see services/telemetry/README.md). */
export const telemetryEnvSchema = z.object({
	/** PostgreSQL schema of the registry; tests use their own. */
	TELEMETRY_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier (letters, digits, _)" })
		.default("telemetry"),
	/** How often the registry is re-read even without a change notification. */
	TELEMETRY_RELOAD_INTERVAL_MS: intVar(30_000, 1_000, 3_600_000),
	/** Spans + log records + metric data points accepted in one Export call. */
	TELEMETRY_MAX_EXPORT_ITEMS: intVar(100_000, 1, 10_000_000),
	/** Exporters one environment may register. */
	TELEMETRY_MAX_EXPORTERS_PER_ENVIRONMENT: intVar(50, 1, 10_000),
	/** Directories file exporters may write under (comma-separated, absolute); unset allows any. */
	TELEMETRY_FILE_ROOTS: absolutePaths(),
	/** Directories module exporters may be loaded from (comma-separated, absolute); unset allows any. */
	TELEMETRY_MODULE_ROOTS: absolutePaths(),
});

function absolutePaths() {
	return z
		.string()
		.regex(/^\/[^,]*(,\/[^,]*)*$/, { error: "expected absolute paths separated by commas" })
		.transform((value) => value.split(","))
		.default([]);
}

/** Parsed telemetry configuration. */
export type TelemetryConfig = z.infer<typeof telemetryEnvSchema>;

/** Reads the telemetry variables; throws ConfigError naming bad ones. */
export function loadTelemetryConfig(env: Environment = process.env): TelemetryConfig {
	return parseEnv(telemetryEnvSchema, env);
}
