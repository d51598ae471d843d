import { z } from "zod";
import { type Environment, intVar, parseEnv } from "../../kit/src/index.js";

const MiB = 1024 * 1024;

/** The scheduler's own variables (see services/scheduler/README.md). */
export const schedulerEnvSchema = z.object({
	SCHEDULER_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier (letters, digits, _)" })
		.default("scheduler"),
	SCHEDULER_MAX_PAYLOAD_BYTES: intVar(3 * MiB, 1, 64 * MiB),
	SCHEDULER_HEARTBEAT_INTERVAL_MS: intVar(10_000, 100, 600_000),
	SCHEDULER_IDEMPOTENCY_KEY_TTL_MS: intVar(30 * 24 * 3_600_000, 1_000, 365 * 24 * 3_600_000),
	SCHEDULER_MAINTENANCE_INTERVAL_MS: intVar(250, 10, 60_000),
	SCHEDULER_CRON_INTERVAL_MS: intVar(1_000, 10, 60_000),
	SCHEDULER_RECONCILE_INTERVAL_MS: intVar(30_000, 100, 3_600_000),
	SCHEDULER_RECONCILE_MIN_AGE_MS: intVar(30_000, 0, 3_600_000),
	SCHEDULER_STREAM_POLL_MS: intVar(500, 10, 60_000),
});

/** Parsed scheduler configuration. */
export type SchedulerConfig = z.infer<typeof schedulerEnvSchema>;

/** Reads the scheduler's variables; throws ConfigError naming bad ones. */
export function loadSchedulerConfig(env: Environment = process.env): SchedulerConfig {
	return parseEnv(schedulerEnvSchema, env);
}
