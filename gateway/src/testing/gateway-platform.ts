import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import {
	createPostgresPool,
	createRedisClient,
	loadPlatformConfig,
} from "../../../services/kit/src/index.js";
import { type ServiceProcess, spawnServiceProcess } from "../../../services/kit/src/testing/process.js";
import { randomSuffix, testStores } from "../../../services/kit/src/testing/stores.js";
import { type RunningGateway, startGateway } from "../gateway.js";
import { loadGatewayConfig } from "../gateway-config.js";

const servicesMain = fileURLToPath(new URL("../../../services/main.ts", import.meta.url));

/** A key of one environment, as a test holds it. */
export interface TestKey {
	key: string;
	keyId: string;
	environmentId: string;
}

/** Every service in a child process and a gateway in front of them, on free ports. */
export interface GatewayPlatform {
	services: ServiceProcess;
	gateway: RunningGateway;
	/** A project of its own, so parallel test files never share an environment. */
	project: string;
	/** The schema holding the gateway's keys (for the keys CLI). */
	gatewaySchema: string;
	/** Creates a live key for an environment of the test's project. */
	createKey(environment: string, limits?: { ratePerSecond?: number; rateBurst?: number }): Promise<TestKey>;
	stop(): Promise<void>;
}

/**
 * Starts `services/main.ts` as its own process (own schemas, own Redis
 * namespace) and a gateway in this process pointed at it. Extra gateway
 * variables override the defaults (for example a small rate limit).
 */
export async function startGatewayPlatform(
	gatewayEnv: Record<string, string> = {},
): Promise<GatewayPlatform> {
	const stores = await testStores();
	const suffix = randomSuffix();
	const schemas = {
		SCHEDULER_DATABASE_SCHEMA: `gw_sched_${suffix}`,
		BATCH_DATABASE_SCHEMA: `gw_batch_${suffix}`,
		LOG_INGEST_DATABASE_SCHEMA: `gw_logs_${suffix}`,
		TELEMETRY_DATABASE_SCHEMA: `gw_tel_${suffix}`,
		GATEWAY_DATABASE_SCHEMA: `gw_keys_${suffix}`,
	};
	// The services call one another by URL, so each gets a known free port.
	const ports = await freePorts(5);
	const urls = {
		TASKMESH_QUEUE_URL: `http://127.0.0.1:${ports[0]}`,
		TASKMESH_SCHEDULER_URL: `http://127.0.0.1:${ports[1]}`,
		TASKMESH_BATCH_URL: `http://127.0.0.1:${ports[2]}`,
		TASKMESH_LOG_INGEST_URL: `http://127.0.0.1:${ports[3]}`,
		TASKMESH_TELEMETRY_URL: `http://127.0.0.1:${ports[4]}`,
	};
	const services = await spawnServiceProcess(servicesMain, {
		env: {
			DATABASE_URL: stores.databaseUrl,
			REDIS_URL: stores.redisUrl,
			TASKMESH_HOST: "127.0.0.1",
			TASKMESH_QUEUE_PORT: String(ports[0]),
			TASKMESH_SCHEDULER_PORT: String(ports[1]),
			TASKMESH_BATCH_PORT: String(ports[2]),
			TASKMESH_LOG_INGEST_PORT: String(ports[3]),
			TASKMESH_TELEMETRY_PORT: String(ports[4]),
			...urls,
			QUEUE_REDIS_NAMESPACE: `test:gw:${suffix}`,
			// Streams the tests leave open (a tail, a wait) must not hold the exit.
			GRPC_DRAIN_TIMEOUT_MS: "1000",
			...schemas,
		},
		expectedServices: 5,
		timeoutMs: 60_000,
	});
	const env = {
		DATABASE_URL: stores.databaseUrl,
		REDIS_URL: stores.redisUrl,
		TASKMESH_HOST: "127.0.0.1",
		...urls,
		GATEWAY_PORT: "0",
		GATEWAY_DATABASE_SCHEMA: schemas.GATEWAY_DATABASE_SCHEMA,
		GATEWAY_REDIS_NAMESPACE: `test:gw:${suffix}`,
		GATEWAY_KEY_CACHE_MS: "0",
		GATEWAY_DRAIN_TIMEOUT_MS: "1000",
		...gatewayEnv,
	};
	let gateway: RunningGateway;
	try {
		gateway = await startGateway({
			config: loadPlatformConfig(env),
			gateway: loadGatewayConfig(env),
			logger: pino({ level: "silent" }),
		});
	} catch (error) {
		services.child.kill("SIGTERM");
		await services.exited;
		throw error;
	}
	const project = `p-${suffix}`;
	return {
		services,
		gateway,
		project,
		gatewaySchema: schemas.GATEWAY_DATABASE_SCHEMA,
		async createKey(environment, limits = {}) {
			const { key, record } = await gateway.keys.create({ project, environment, ...limits });
			return { key, keyId: record.keyId, environmentId: record.environmentId };
		},
		async stop() {
			await gateway.close();
			services.child.kill("SIGTERM");
			await services.exited;
			const pool = createPostgresPool({ url: stores.databaseUrl, schema: "public", max: 1 });
			for (const schema of Object.values(schemas))
				await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await pool.end();
			// The queue's and the rate limiter's keys of this platform.
			const redis = createRedisClient({ url: stores.redisUrl });
			const keys = await redis.keys(`test:gw:${suffix}*`);
			if (keys.length > 0) await redis.del(...keys);
			await redis.quit();
		},
	};
}

/** Ports free right now (bound to port 0, then released). */
async function freePorts(count: number): Promise<number[]> {
	const servers = Array.from({ length: count }, () => createServer());
	const ports = await Promise.all(
		servers.map(
			(server) =>
				new Promise<number>((resolve) =>
					server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
				),
		),
	);
	await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
	return ports;
}
