import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { createRedisClient, type RedisClient } from "../../../kit/src/index.js";
import { randomSuffix, testStores } from "../../../kit/src/testing/stores.js";
import { WakeBus } from "./wake-bus.js";

describe("wake bus", () => {
	const logger = pino({ level: "silent" });
	const channel = `test:wake:${randomSuffix()}`;
	const clients: RedisClient[] = [];
	let one: WakeBus;
	let two: WakeBus;

	before(async () => {
		const { redisUrl } = await testStores();
		for (let i = 0; i < 4; i++) clients.push(createRedisClient({ url: redisUrl }));
		const [a, b, c, d] = clients as [RedisClient, RedisClient, RedisClient, RedisClient];
		one = new WakeBus({ redis: a, subscriber: b, channel, logger });
		two = new WakeBus({ redis: c, subscriber: d, channel, logger });
		// Subscriptions are confirmed once a round trip on each subscriber has completed.
		await Promise.all([b.ping(), d.ping()]);
		// A bus whose start-up publish reached only itself pauses until it hears the other
		// start; wait until both have announced themselves and met, as replicas of a
		// running deployment have.
		await Promise.all([one.ready, two.ready]);
		await until(() => one.replicaMessage("probe") !== undefined && two.replicaMessage("probe") !== undefined);
	});

	after(async () => {
		await one.close();
		await two.close();
		await Promise.all(clients.map((c) => c.quit()));
	});

	test("a waiter in one replica wakes when another replica notifies its environment", async () => {
		const seen = new Map([["env-a", two.version("env-a")]]);
		const waiting = two.wait(seen, Date.now() + 10_000, new AbortController().signal);
		one.notify("env-a");
		await waiting;
		// Woken by the notification, not by the deadline: the version moved.
		assert.equal(two.version("env-a"), 1);
		assert.equal(two.version("env-b"), 0);
	});

	test("a local wake-up moves only this replica; telling replicas moves the others", async () => {
		const seen = new Map([["env-d", one.version("env-d")]]);
		const waiting = one.wait(seen, Date.now() + 10_000, new AbortController().signal);
		one.notifyLocal("env-d");
		await waiting;
		assert.equal(one.version("env-d"), 1);
		const remote = new Map([["env-d", two.version("env-d")]]);
		const remoteWaiting = two.wait(remote, Date.now() + 10_000, new AbortController().signal);
		// The local wake-up alone sent nothing (a publish would have reached the other
		// subscriber before these round trips end); the replica is woken by tellReplicas.
		const [a, , , d] = clients as [RedisClient, RedisClient, RedisClient, RedisClient];
		await a.ping();
		await d.ping();
		assert.equal(two.version("env-d"), 0);
		one.tellReplicas("env-d");
		await remoteWaiting;
		assert.equal(two.version("env-d"), 1);
		assert.equal(one.version("env-d"), 1);
	});

	test("a change made before the wait begins is not missed", async () => {
		const seen = new Map([["env-c", one.version("env-c")]]);
		one.notify("env-c");
		await one.wait(seen, Date.now() + 10_000, new AbortController().signal);
		assert.ok(one.version("env-c") >= 1);
	});

	test("a replica alone on its channel stops publishing, and starts again when another replica starts", async () => {
		const { redisUrl } = await testStores();
		const own = `test:wake:${randomSuffix()}`;
		const more = Array.from({ length: 4 }, () => createRedisClient({ url: redisUrl }));
		clients.push(...more);
		const [e, f, g, h] = more as [RedisClient, RedisClient, RedisClient, RedisClient];
		const solo = new WakeBus({ redis: e, subscriber: f, channel: own, logger });
		// Its start-up publish reached only itself: nothing more is published for scripts to send.
		await solo.ready;
		assert.equal(solo.replicaMessage("env-s"), undefined);
		const other = new WakeBus({ redis: g, subscriber: h, channel: own, logger });
		// The newcomer says it has started; the first replica hears it and publishes again.
		await until(() => solo.replicaMessage("env-s") !== undefined);
		const seen = new Map([["env-s", other.version("env-s")]]);
		const waiting = other.wait(seen, Date.now() + 10_000, new AbortController().signal);
		solo.notify("env-s");
		await waiting;
		assert.equal(other.version("env-s"), 1);
		await solo.close();
		await other.close();
	});
});

/** Resolves once the condition holds; fails after five seconds. */
async function until(condition: () => boolean): Promise<void> {
	const deadline = Date.now() + 5000;
	while (!condition()) {
		assert.ok(Date.now() < deadline, "the condition did not hold within 5 s");
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}
