import { setMaxListeners } from "node:events";
import { fileURLToPath } from "node:url";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import {
	compressionBrotli,
	compressionGzip,
	connectNodeAdapter,
	createGrpcTransport,
} from "@connectrpc/connect-node";
import type pg from "pg";
import type { Logger } from "pino";
import { SchedulerService } from "../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	createPostgresPool,
	createRedisClient,
	migrate,
	type PlatformConfig,
	parseClusterNodes,
	tracePropagation,
} from "../../services/kit/src/index.js";
import { ApiKeyStore } from "./core/api-key-store.js";
import type { RunExists } from "./core/parent-run-check.js";
import { type Backend, publicMethods } from "./core/public-surface.js";
import { KeyRateLimiter } from "./core/rate-limiter.js";
import { RevocationListener } from "./core/revocation-listener.js";
import { ServiceHealth } from "./core/service-health.js";
import { type GatewayConfig, loadGatewayConfig } from "./gateway-config.js";
import { accessLog } from "./http/access-log.js";
import { authentication } from "./http/authentication.js";
import { CleartextServer } from "./http/cleartext-server.js";
import { corsHeaders } from "./http/cors.js";
import { forwardingRoutes } from "./http/forwarding-routes.js";
import { InFlightCalls } from "./http/in-flight-calls.js";
import { rateGate } from "./http/rate-gate.js";
import { decompressionAsBadInput, streamMessagesAsBadInput } from "./http/request-decoding-errors.js";
import { checkingUnaryBodies } from "./http/unary-body-check.js";

/** Where the gateway's migrations are. */
export const GATEWAY_MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

/** What startGateway needs. */
export interface GatewayOptions {
	config: PlatformConfig;
	/** The gateway's own variables; read from process.env when not given. */
	gateway?: GatewayConfig;
	logger: Logger;
}

/** A running gateway. */
export interface RunningGateway {
	port: number;
	/** For example "http://127.0.0.1:8080". */
	url: string;
	/** The key store it authenticates with (the keys CLI and tests use the same class). */
	keys: ApiKeyStore;
	/** Stops listening, lets calls in flight finish (up to GATEWAY_DRAIN_TIMEOUT_MS), closes its stores. */
	close(): Promise<void>;
}

/**
 * Starts the HTTP gateway: one port serving HTTP/1.1 and h2c, every public RPC
 * over Connect (JSON and binary, GET for side-effect-free methods), gRPC-Web
 * and gRPC, forwarded to the services over gRPC; plus GET /healthz.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
	const { config, logger } = options;
	const gateway = options.gateway ?? loadGatewayConfig();
	const pool = createPostgresPool({
		url: config.DATABASE_URL,
		schema: gateway.GATEWAY_DATABASE_SCHEMA,
		max: config.DATABASE_POOL_SIZE,
		applicationName: "taskmesh-gateway",
	});
	const clusterNodes = parseClusterNodes(config.REDIS_CLUSTER_NODES);
	const redis = createRedisClient({
		url: config.REDIS_URL,
		...(clusterNodes === undefined ? {} : { clusterNodes }),
	});
	const shutdown = new AbortController();
	// Every call in flight listens on the shutdown signal; hundreds at once are normal.
	setMaxListeners(0, shutdown.signal);
	const inFlight = new InFlightCalls();
	let revocations: RevocationListener | undefined;
	try {
		await migrateGateway(pool, gateway.GATEWAY_DATABASE_SCHEMA, logger);
		const keys = new ApiKeyStore({ pool, cacheMs: gateway.GATEWAY_KEY_CACHE_MS });
		revocations = new RevocationListener({
			url: config.DATABASE_URL,
			onRevoked: () => keys.forget(),
			logger,
		});
		await revocations.start();
		const transports = backendTransports(config);
		const health = new ServiceHealth({ transports });
		const gate = rateGate(new KeyRateLimiter({ redis, namespace: gateway.GATEWAY_REDIS_NAMESPACE }), {
			perSecond: gateway.GATEWAY_RATE_LIMIT_PER_SECOND,
			burst: gateway.GATEWAY_RATE_LIMIT_BURST,
		});
		// A body that cannot be decompressed or parsed is the caller's fault: INVALID_ARGUMENT
		// where connect-node says INTERNAL (request-decoding-errors.ts, unary-body-check.ts).
		const compressions = [compressionGzip, compressionBrotli].map(decompressionAsBadInput);
		const handler = connectNodeAdapter({
			routes: checkingUnaryBodies(
				forwardingRoutes({
					methods: publicMethods(),
					transports,
					exporterKinds: gateway.GATEWAY_EXPORTER_KINDS,
					runExists: runLookup(transports.scheduler),
					rateGate: gate,
					keys,
				}),
				{ compressions, readMaxBytes: gateway.GATEWAY_READ_MAX_BYTES },
			),
			acceptCompression: compressions,
			interceptors: [streamMessagesAsBadInput, accessLog(logger), authentication({ keys, rateGate: gate })],
			readMaxBytes: gateway.GATEWAY_READ_MAX_BYTES,
			// Connect ignores JSON keys and enum names it does not know by default, so a
			// misspelt option or filter was silently dropped and the call acted without it.
			// Binary clients are unaffected: unknown binary fields are kept, not refused.
			jsonOptions: { ignoreUnknownFields: false },
			maxTimeoutMs: gateway.GATEWAY_MAX_TIMEOUT_MS,
			shutdownSignal: shutdown.signal,
		});

		const server = new CleartextServer((request, response) => {
			inFlight.begin();
			response.once("close", () => inFlight.end());
			const cors = corsHeaders(request, gateway.GATEWAY_CORS_ORIGINS);
			if (cors !== undefined)
				for (const [name, value] of Object.entries(cors)) response.setHeader(name, value);
			if (request.method === "OPTIONS") {
				response.writeHead(cors === undefined ? 403 : 204).end();
				return;
			}
			if (request.url === "/healthz" && (request.method === "GET" || request.method === "HEAD")) {
				void health.check().then(
					(report) => {
						response.writeHead(report.status === "SERVING" ? 200 : 503, {
							"content-type": "application/json",
						});
						response.end(JSON.stringify(report));
					},
					(error: unknown) => {
						logger.error({ err: error }, "health check failed");
						response.writeHead(503).end();
					},
				);
				return;
			}
			handler(request, response);
		});
		const port = await server.listen(gateway.GATEWAY_PORT, config.TASKMESH_HOST);
		const host = config.TASKMESH_HOST === "0.0.0.0" ? "127.0.0.1" : config.TASKMESH_HOST;
		logger.info({ port, methods: publicMethods().length }, "gateway listening");

		let closing: Promise<void> | undefined;
		return {
			port,
			url: `http://${host}:${port}`,
			keys,
			close() {
				closing ??= (async () => {
					const stopped = server.stopAccepting();
					const drained = await inFlight.waitIdle(gateway.GATEWAY_DRAIN_TIMEOUT_MS);
					// Calls still open (a Tail, a WaitForRun) end now rather than hold shutdown.
					if (!drained) logger.info("drain timeout reached; ending the calls still open");
					shutdown.abort();
					server.destroyConnections();
					await stopped;
					await Promise.allSettled([revocations?.close(), pool.end(), redis.quit()]);
					logger.info("gateway stopped");
				})();
				return closing;
			},
		};
	} catch (error) {
		await Promise.allSettled([revocations?.close(), pool.end(), redis.quit()]);
		throw error;
	}
}

/** Applies the gateway's migrations (replicas starting together wait their turn in the kit's migrate). */
export async function migrateGateway(pool: pg.Pool, schema: string, logger?: Logger): Promise<void> {
	await migrate({ pool, schema, directory: GATEWAY_MIGRATIONS, ...(logger === undefined ? {} : { logger }) });
}

/** Asks the scheduler whether a run exists in an environment. */
function runLookup(transport: Transport): RunExists {
	const scheduler = createClient(SchedulerService, transport);
	return async (environmentId, runId, options) => {
		try {
			await scheduler.getRun({ environmentId, runId }, options);
			return true;
		} catch (error) {
			if (ConnectError.from(error).code === Code.NotFound) return false;
			throw error;
		}
	};
}

function backendTransports(config: PlatformConfig): Record<Backend, Transport> {
	const transport = (baseUrl: string) => createGrpcTransport({ baseUrl, interceptors: [tracePropagation] });
	return {
		queue: transport(config.TASKMESH_QUEUE_URL),
		scheduler: transport(config.TASKMESH_SCHEDULER_URL),
		batch: transport(config.TASKMESH_BATCH_URL),
		"log-ingest": transport(config.TASKMESH_LOG_INGEST_URL),
		telemetry: transport(config.TASKMESH_TELEMETRY_URL),
	};
}
