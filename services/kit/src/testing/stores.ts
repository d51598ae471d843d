import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import { createPostgresPool, withDefaultUser } from "../postgres/pool.js";

/** Where tests find PostgreSQL and Redis. */
export interface TestStores {
	databaseUrl: string;
	redisUrl: string;
}

let resolved: Promise<TestStores> | undefined;

/**
 * The stores tests use: DATABASE_URL and REDIS_URL (defaults: the local
 * servers). When one is unreachable and a Docker engine answers, testcontainers
 * starts it; testcontainers is imported only then, so machines without Docker
 * never load it.
 */
export function testStores(): Promise<TestStores> {
	resolved ??= resolveStores();
	return resolved;
}

async function resolveStores(): Promise<TestStores> {
	let databaseUrl = process.env.DATABASE_URL ?? "postgres://127.0.0.1:5432/test";
	let redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
	const [pgUp, redisUp] = await Promise.all([reachable(databaseUrl, 5432), reachable(redisUrl, 6379)]);
	if (!pgUp || !redisUp) {
		const started = await startContainers({ postgres: !pgUp, redis: !redisUp });
		databaseUrl = started.databaseUrl ?? databaseUrl;
		redisUrl = started.redisUrl ?? redisUrl;
	}
	return { databaseUrl: withDefaultUser(databaseUrl), redisUrl };
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
	const { hostname, port } = new URL(url);
	return new Promise((resolve) => {
		const socket = connect({ host: hostname || "127.0.0.1", port: Number(port || defaultPort) });
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(1_000, () => done(false));
		socket.once("connect", () => done(true));
		socket.once("error", () => done(false));
	});
}

async function startContainers(need: { postgres: boolean; redis: boolean }) {
	let testcontainers: typeof import("testcontainers");
	try {
		testcontainers = await import("testcontainers");
		await testcontainers.getContainerRuntimeClient();
	} catch (error) {
		throw new Error(
			`PostgreSQL or Redis is unreachable (set DATABASE_URL / REDIS_URL or start them) and no Docker engine answers for testcontainers: ${String(error)}`,
		);
	}
	const out: { databaseUrl?: string; redisUrl?: string } = {};
	if (need.postgres) {
		const container = await new testcontainers.GenericContainer("postgres:16-alpine")
			.withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" })
			.withExposedPorts(5432)
			.withWaitStrategy(testcontainers.Wait.forLogMessage(/ready to accept connections/, 2))
			.start();
		out.databaseUrl = `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`;
	}
	if (need.redis) {
		const container = await new testcontainers.GenericContainer("redis:7-alpine")
			.withExposedPorts(6379)
			.start();
		out.redisUrl = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
	}
	return out;
}

/** A random lower-case suffix for schema names and key prefixes. */
export function randomSuffix(): string {
	return randomBytes(5).toString("hex");
}

/** A schema of its own for one test file, dropped by drop(). */
export interface TestSchema {
	schema: string;
	pool: pg.Pool;
	drop(): Promise<void>;
}

/** Creates an empty schema named `<prefix>_<random>` and a pool that uses it. */
export async function createTestSchema(prefix: string): Promise<TestSchema> {
	const { databaseUrl } = await testStores();
	const schema = `${prefix}_${randomSuffix()}`;
	const admin = new pg.Client({ connectionString: withDefaultUser(databaseUrl) });
	await admin.connect();
	try {
		await admin.query(`CREATE SCHEMA ${schema}`);
	} finally {
		await admin.end();
	}
	const pool = createPostgresPool({ url: databaseUrl, schema, max: 5 });
	return {
		schema,
		pool,
		async drop() {
			await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
			await pool.end();
		},
	};
}

/** A Redis key prefix of its own for one test: `test:<name>:<random>:`. */
export function testKeyPrefix(name: string): string {
	return `test:${name}:${randomSuffix()}:`;
}

/**
 * Deletes every key under a test's Redis namespace. Stores on a development or CI
 * machine outlive the test run, so suites that write many keys clean up after
 * themselves instead of filling a shared Redis run after run.
 */
export async function deleteRedisNamespace(redisUrl: string, namespace: string): Promise<number> {
	const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
	await redis.connect();
	let deleted = 0;
	try {
		for await (const keys of redis.scanStream({ match: `${namespace}*`, count: 1_000 })) {
			const batch = keys as string[];
			if (batch.length > 0) deleted += await redis.unlink(...batch);
		}
	} finally {
		redis.disconnect();
	}
	return deleted;
}
