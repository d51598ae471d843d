import { z } from "zod";
import { ConfigError, type Environment, intVar, parseEnv } from "../../kit/src/index.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** The kit's default gRPC message limit (GRPC_MAX_SEND_MESSAGE_BYTES). */
const DEFAULT_MAX_MESSAGE_BYTES = 16 * MiB;
/** Room an answer keeps beside payload and outputs: the run's other fields, the attempt, wait ids, errors. */
const ANSWER_HEADROOM_BYTES = 1 * MiB;
/**
 * Most a run's metadata may be configured to: it travels in that headroom (every
 * answer carrying the run carries it), beside errors of up to about 80 KiB.
 */
const MAX_METADATA_LIMIT_BYTES = ANSWER_HEADROOM_BYTES / 2;

/** The scheduler's own variables (see services/scheduler/README.md). */
export const schedulerEnvSchema = z.object({
	SCHEDULER_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier (letters, digits, _)" })
		.default("scheduler"),
	SCHEDULER_MAX_PAYLOAD_BYTES: intVar(3 * MiB, 1, 64 * MiB),
	SCHEDULER_MAX_OUTPUT_BYTES: intVar(8 * MiB, 1, 64 * MiB),
	SCHEDULER_MAX_METADATA_BYTES: intVar(256 * KiB, 1, MAX_METADATA_LIMIT_BYTES),
	SCHEDULER_RESOLVED_WAITS_INLINE_BYTES: intVar(4 * MiB, 0, 64 * MiB),
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

/**
 * Reads the scheduler's variables; throws ConfigError naming bad ones. A resumed
 * StartAttempt answer carries the run's payload, the newest resolved wait (one
 * output, or a batch's results under the batch service's own resume budget) and
 * older waits' results up to the inline budget, so those three must fit in one
 * gRPC message with room for the rest; a configuration where they could not is
 * refused here rather than failing resumes later.
 */
export function loadSchedulerConfig(
	env: Environment = process.env,
	maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
): SchedulerConfig {
	const config = parseEnv(schedulerEnvSchema, env);
	const answer =
		config.SCHEDULER_MAX_PAYLOAD_BYTES +
		config.SCHEDULER_MAX_OUTPUT_BYTES +
		config.SCHEDULER_RESOLVED_WAITS_INLINE_BYTES;
	const room = maxMessageBytes - ANSWER_HEADROOM_BYTES;
	if (answer > room) {
		throw new ConfigError([
			`SCHEDULER_MAX_PAYLOAD_BYTES + SCHEDULER_MAX_OUTPUT_BYTES + SCHEDULER_RESOLVED_WAITS_INLINE_BYTES = ${answer}: must be at most ${room} (the gRPC message limit of ${maxMessageBytes} bytes less ${ANSWER_HEADROOM_BYTES} for the rest of a StartAttempt answer)`,
		]);
	}
	return config;
}
