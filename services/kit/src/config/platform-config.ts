import { z } from "zod";
import { withDefaultUser } from "../postgres/pool.js";
import { boolVar, type Environment, enumVar, intVar, parseEnv, portVar, urlVar } from "./env.js";

/** The port each service listens on by default. */
export const DEFAULT_PORTS = {
	queue: 50051,
	scheduler: 50052,
	batch: 50053,
	"log-ingest": 50054,
	telemetry: 50055,
} as const;

/** A service name, as in services/<name>. */
export type ServiceName = keyof typeof DEFAULT_PORTS;

const MiB = 1024 * 1024;

/** Variables every service reads; see the README's table. */
export const platformEnvSchema = z.object({
	TASKMESH_ENV: enumVar(["development", "production"] as const, "development"),
	LOG_LEVEL: enumVar(["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const, "info"),
	TASKMESH_HOST: z.string().min(1).default("0.0.0.0"),
	TASKMESH_QUEUE_PORT: portVar(DEFAULT_PORTS.queue),
	TASKMESH_SCHEDULER_PORT: portVar(DEFAULT_PORTS.scheduler),
	TASKMESH_BATCH_PORT: portVar(DEFAULT_PORTS.batch),
	TASKMESH_LOG_INGEST_PORT: portVar(DEFAULT_PORTS["log-ingest"]),
	TASKMESH_TELEMETRY_PORT: portVar(DEFAULT_PORTS.telemetry),
	TASKMESH_QUEUE_URL: urlVar(`http://127.0.0.1:${DEFAULT_PORTS.queue}`, ["http", "https"]),
	TASKMESH_SCHEDULER_URL: urlVar(`http://127.0.0.1:${DEFAULT_PORTS.scheduler}`, ["http", "https"]),
	TASKMESH_BATCH_URL: urlVar(`http://127.0.0.1:${DEFAULT_PORTS.batch}`, ["http", "https"]),
	TASKMESH_LOG_INGEST_URL: urlVar(`http://127.0.0.1:${DEFAULT_PORTS["log-ingest"]}`, ["http", "https"]),
	TASKMESH_TELEMETRY_URL: urlVar(`http://127.0.0.1:${DEFAULT_PORTS.telemetry}`, ["http", "https"]),
	// A URL without a role gets one here, once, so every pool and LISTEN client
	// connects the same way (see withDefaultUser).
	DATABASE_URL: urlVar("postgres://127.0.0.1:5432/test", ["postgres", "postgresql"]).transform(
		withDefaultUser,
	),
	DATABASE_POOL_SIZE: intVar(10, 1, 500),
	REDIS_URL: urlVar("redis://127.0.0.1:6379", ["redis", "rediss"]),
	REDIS_CLUSTER_NODES: z
		.string()
		.regex(/^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$/, { error: "expected host:port[,host:port...]" })
		.optional(),
	GRPC_MAX_RECEIVE_MESSAGE_BYTES: intVar(16 * MiB, 1024, 512 * MiB),
	GRPC_MAX_SEND_MESSAGE_BYTES: intVar(16 * MiB, 1024, 512 * MiB),
	GRPC_KEEPALIVE_TIME_MS: intVar(30_000, 1_000, 86_400_000),
	GRPC_KEEPALIVE_TIMEOUT_MS: intVar(10_000, 100, 600_000),
	GRPC_DRAIN_TIMEOUT_MS: intVar(25_000, 0, 600_000),
	OTEL_ENABLED: boolVar(true),
	/** Where the services' own spans go: the telemetry service (TASKMESH_TELEMETRY_URL) or nowhere. */
	TASKMESH_TRACE_EXPORT: enumVar(["none", "telemetry-service"] as const, "none"),
	/** The environment the services' own spans are filed under in the telemetry service. */
	TASKMESH_TRACE_ENVIRONMENT_ID: z
		.string()
		.regex(/^[A-Za-z0-9._:-]{1,128}$/, { error: "expected 1 to 128 letters, digits or . _ : -" })
		.default("platform"),
});

/** Parsed platform configuration. */
export type PlatformConfig = z.infer<typeof platformEnvSchema>;

/** Reads the platform configuration; throws ConfigError naming bad variables. */
export function loadPlatformConfig(env: Environment = process.env): PlatformConfig {
	return parseEnv(platformEnvSchema, env);
}

/** The port variable of a service. */
export function portOf(config: PlatformConfig, service: ServiceName): number {
	switch (service) {
		case "queue":
			return config.TASKMESH_QUEUE_PORT;
		case "scheduler":
			return config.TASKMESH_SCHEDULER_PORT;
		case "batch":
			return config.TASKMESH_BATCH_PORT;
		case "log-ingest":
			return config.TASKMESH_LOG_INGEST_PORT;
		case "telemetry":
			return config.TASKMESH_TELEMETRY_PORT;
	}
}

/** The URL variable other services use to reach a service. */
export function urlKeyOf(service: ServiceName) {
	switch (service) {
		case "queue":
			return "TASKMESH_QUEUE_URL" as const;
		case "scheduler":
			return "TASKMESH_SCHEDULER_URL" as const;
		case "batch":
			return "TASKMESH_BATCH_URL" as const;
		case "log-ingest":
			return "TASKMESH_LOG_INGEST_URL" as const;
		case "telemetry":
			return "TASKMESH_TELEMETRY_URL" as const;
	}
}
