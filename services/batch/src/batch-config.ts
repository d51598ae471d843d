import { z } from "zod";
import { type Environment, intVar, parseEnv } from "../../kit/src/index.js";

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;

/** The batch service's own variables (see services/batch/README.md). */
export const batchEnvSchema = z.object({
	BATCH_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier (a-z, 0-9, _)" })
		.default("batch"),
	BATCH_MAX_INLINE_ITEMS: intVar(1_000, 1, 1_000),
	BATCH_MAX_ITEMS: intVar(1_000_000, 1, 1_000_000),
	BATCH_MAX_PAYLOAD_BYTES: intVar(3 * MiB, 1, 16 * MiB),
	BATCH_CHUNK_SIZE: intVar(1_000, 1, 1_000),
	BATCH_PARALLELISM: intVar(4, 1, 64),
	BATCH_DEFAULT_SEAL_TIMEOUT_MS: intVar(600_000, 1_000, 7 * DAY_MS),
	BATCH_MAX_SEAL_TIMEOUT_MS: intVar(DAY_MS, 1_000, 30 * DAY_MS),
	BATCH_DEFAULT_IDEMPOTENCY_KEY_TTL_MS: intVar(30 * DAY_MS, 1_000, 365 * DAY_MS),
	BATCH_SWEEP_INTERVAL_MS: intVar(1_000, 50, 60_000),
	BATCH_WATCH_POLL_MS: intVar(1_000, 50, 60_000),
	// The results a parent's resume carries at most; a batch whose outputs weigh more
	// resumes it with BATCH_RESULTS_TOO_LARGE and the SDK reads them from ListBatchItems.
	BATCH_RESUME_RESULTS_MAX_BYTES: intVar(4 * MiB, 1_024, 12 * MiB),
});

/** Parsed batch configuration. */
export type BatchConfig = z.infer<typeof batchEnvSchema>;

/** Reads the batch service's variables; throws ConfigError naming bad ones. */
export function loadBatchConfig(env: Environment = process.env): BatchConfig {
	return parseEnv(batchEnvSchema, env);
}
