import { z } from "zod";
import { type Environment, intVar, parseEnv, portVar } from "../../services/kit/src/index.js";

const MiB = 1024 * 1024;

/** Names of exporter kinds in taskmesh.telemetry.v1.ExporterConfig's oneof. */
export const EXPORTER_KINDS = ["otlp_http", "otlp_grpc", "console", "file", "plugin", "module"] as const;

/** One exporter kind. */
export type ExporterKind = (typeof EXPORTER_KINDS)[number];

const originList = z
	.string()
	.refine(
		(value) =>
			value === "*" ||
			value.split(",").every((origin) => /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin.trim())),
		{ error: 'expected "*" or a comma-separated list of origins such as https://app.example.com' },
	)
	.transform((value) => (value === "*" ? ("*" as const) : value.split(",").map((origin) => origin.trim())));

const exporterKinds = z
	.string()
	.refine(
		(value) =>
			value === "none" ||
			value.split(",").every((kind) => (EXPORTER_KINDS as readonly string[]).includes(kind.trim())),
		{ error: `expected "none" or a comma-separated list of ${EXPORTER_KINDS.join(", ")}` },
	)
	.transform((value) =>
		value === "none" ? [] : value.split(",").map((kind) => kind.trim() as ExporterKind),
	);

/** Variables of the gateway; see gateway/README.md. */
export const gatewayEnvSchema = z.object({
	GATEWAY_PORT: portVar(8080),
	GATEWAY_DATABASE_SCHEMA: z
		.string()
		.regex(/^[a-z_][a-z0-9_]{0,62}$/, { error: "expected a lower-case SQL identifier" })
		.default("gateway"),
	/** Largest request message accepted, per message (connect's readMaxBytes). */
	GATEWAY_READ_MAX_BYTES: intVar(8 * MiB, 1024, 256 * MiB),
	/** Origins allowed by CORS: "*" or a list; unset means no cross-origin access. */
	GATEWAY_CORS_ORIGINS: originList.optional(),
	/** Steady calls per second allowed per API key. */
	GATEWAY_RATE_LIMIT_PER_SECOND: intVar(100, 1, 1_000_000),
	/** Calls a key may make at once after being idle. */
	GATEWAY_RATE_LIMIT_BURST: intVar(200, 1, 10_000_000),
	/** How long a looked-up key is trusted before it is read again (revocation delay). */
	GATEWAY_KEY_CACHE_MS: intVar(5_000, 0, 300_000),
	/** Exporter kinds callers may register through the gateway. */
	GATEWAY_EXPORTER_KINDS: exporterKinds.default(["otlp_http", "otlp_grpc"]),
	/** Namespace of the gateway's Redis keys (rate-limit buckets). */
	GATEWAY_REDIS_NAMESPACE: z
		.string()
		.regex(/^[A-Za-z0-9._:-]{1,64}$/, { error: "expected 1 to 64 letters, digits or . _ : -" })
		.default("taskmesh:gateway"),
	/** How long shutdown waits for calls in flight before ending them. */
	GATEWAY_DRAIN_TIMEOUT_MS: intVar(10_000, 0, 600_000),
	/** Longest deadline a caller may ask for. */
	GATEWAY_MAX_TIMEOUT_MS: intVar(3_600_000, 1_000, 86_400_000),
});

/** Parsed gateway configuration. */
export type GatewayConfig = z.infer<typeof gatewayEnvSchema>;

/** Reads the gateway's variables; throws ConfigError naming each bad one. */
export function loadGatewayConfig(env: Environment = process.env): GatewayConfig {
	return parseEnv(gatewayEnvSchema, env);
}
