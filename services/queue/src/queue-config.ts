import { z } from "zod";
import { boolVar, type Environment, intVar, parseEnv } from "../../kit/src/index.js";

const MiB = 1024 * 1024;

/** The queue service's own variables (see services/queue/README.md). */
export const queueEnvSchema = z.object({
	QUEUE_MAX_PAYLOAD_BYTES: intVar(MiB, 1, 16 * MiB),
	QUEUE_DEFAULT_VISIBILITY_TIMEOUT_MS: intVar(30_000, 1_000, 43_200_000),
	QUEUE_DEFAULT_CONCURRENCY_LIMIT: intVar(0, 0, 1_000_000),
	QUEUE_KEY_SHARE_PERCENT: intVar(50, 1, 100),
	QUEUE_DEFAULT_MAX_NACKS: intVar(10, 1, 1_000),
	QUEUE_ACKED_RETENTION_SECONDS: intVar(300, 1, 86_400),
	QUEUE_SWEEP_INTERVAL_MS: intVar(1_000, 50, 60_000),
	QUEUE_IDLE_RECHECK_MS: intVar(1_000, 10, 60_000),
	QUEUE_MAX_DELIVERY_BATCH: intVar(500, 1, 1_000),
	QUEUE_TELEMETRY: boolVar(true),
	QUEUE_SPAN_PERIOD_MS: intVar(10_000, 100, 600_000),
	QUEUE_REDIS_NAMESPACE: z
		.string()
		.regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: "expected 1 to 64 letters, digits or . _ : -" })
		.default("taskmesh:queue"),
});

/** Parsed queue configuration. */
export type QueueConfig = z.infer<typeof queueEnvSchema>;

/** Reads the queue's variables; throws ConfigError naming bad ones. */
export function loadQueueConfig(env: Environment = process.env): QueueConfig {
	return parseEnv(queueEnvSchema, env);
}
