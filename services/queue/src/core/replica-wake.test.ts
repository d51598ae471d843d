import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createRedisClient, type RedisClient } from "../../../kit/src/index.js";
import { randomSuffix, testStores } from "../../../kit/src/testing/stores.js";
import { createQueueCore, type QueueCore } from "./queue-core.js";
import { ManualClock, message, TEST_DEFAULTS } from "./testing-fixture.js";

describe("wake-ups across replicas", () => {
	const namespace = `test:queue:${randomSuffix()}`;
	const clients: RedisClient[] = [];
	const cores: QueueCore[] = [];

	before(async () => {
		const { redisUrl } = await testStores();
		for (let i = 0; i < 4; i++) clients.push(createRedisClient({ url: redisUrl }));
		for (const [redis, subscriber] of [
			[clients[0], clients[1]],
			[clients[2], clients[3]],
		] as Array<[RedisClient, RedisClient]>) {
			cores.push(
				createQueueCore({
					redis,
					subscriber,
					clock: new ManualClock(),
					logger: pino({ level: "silent" }),
					namespace,
					defaults: TEST_DEFAULTS,
					lifecycleLog: false,
					telemetry: false,
					sweepEveryMs: 0,
				}),
			);
		}
		// Subscriptions are confirmed once a round trip on each subscriber has completed.
		await Promise.all([clients[1]?.ping(), clients[3]?.ping()]);
		// A replica whose start-up publish reached only itself pauses until it hears the
		// other start; wait until both have announced themselves and met, as replicas of a
		// running deployment have.
		await Promise.all(cores.map((core) => core.context.wake.ready));
		const deadline = Date.now() + 5000;
		while (cores.some((core) => core.context.wake.replicaMessage("probe") === undefined)) {
			assert.ok(Date.now() < deadline, "the replicas did not hear each other within 5 s");
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
	});

	after(async () => {
		for (const core of cores) await core.close();
		const [redis] = clients as [RedisClient];
		const keys = await redis.keys(`${namespace}*`);
		if (keys.length > 0) await redis.del(...keys);
		await Promise.all(clients.map((c) => c.quit()));
	});

	test("an enqueue on one replica wakes a consumer waiting on another, and a duplicate wakes no one", async () => {
		const [one, two] = cores as [QueueCore, QueueCore];
		const env = `env-${randomSuffix()}`;
		const bus = two.context.wake;
		const seen = new Map([[env, bus.version(env)]]);
		// No deadline to fall back on: only the replica's wake-up ends this wait.
		const waiting = bus.wait(seen, Date.now() + 60_000, new AbortController().signal);
		await one.queue.enqueue([message("a", { environmentId: env })]);
		await waiting;
		assert.equal(bus.version(env), 1);
		const delivered = await two.queue.deliver({
			consumerId: "c",
			selectors: [{ environmentId: env, queues: [] }],
			max: 10,
		});
		assert.deepEqual(
			delivered.deliveries.map((d) => d.message.id),
			["a"],
		);
		// The same id again stores nothing, so the other replica hears nothing.
		await one.queue.enqueue([message("a", { environmentId: env })]);
		const [redis, subscriber] = [clients[0], clients[3]] as [RedisClient, RedisClient];
		await redis.ping();
		await subscriber.ping();
		assert.equal(bus.version(env), 1);
	});
});
