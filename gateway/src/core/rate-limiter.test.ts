import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { createRedisClient } from "../../../services/kit/src/index.js";
import { testKeyPrefix, testStores } from "../../../services/kit/src/testing/stores.js";
import { KeyRateLimiter } from "./rate-limiter.js";

describe("per-key rate limiter", async () => {
	const { redisUrl } = await testStores();
	const redis = createRedisClient({ url: redisUrl });
	const namespace = testKeyPrefix("gw_rate");
	const limiter = new KeyRateLimiter({ redis, namespace });
	after(async () => {
		const keys = await redis.keys(`${namespace}*`);
		if (keys.length > 0) await redis.del(...keys);
		await redis.quit();
	});

	test("a key may spend its burst, then is refused with the wait until its next token", async () => {
		const limit = { perSecond: 1, burst: 3 };
		const decisions = [];
		for (let i = 0; i < 4; i++) decisions.push(await limiter.take("key_a", limit));
		assert.deepEqual(
			decisions.slice(0, 3).map((d) => d.allowed),
			[true, true, true],
		);
		const refused = decisions[3];
		assert.ok(refused !== undefined && !refused.allowed);
		assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1_000, `waits ${refused.retryAfterMs} ms`);
	});

	test("each key has its own bucket", async () => {
		const limit = { perSecond: 1, burst: 1 };
		assert.equal((await limiter.take("key_b", limit)).allowed, true);
		assert.equal((await limiter.take("key_b", limit)).allowed, false);
		assert.equal((await limiter.take("key_c", limit)).allowed, true);
	});

	test("the bucket expires once it would be full again, leaving nothing behind", async () => {
		await limiter.take("key_d", { perSecond: 10, burst: 5 });
		const ttl = await redis.pttl(`${namespace}:rate:key_d`);
		assert.ok(ttl > 0 && ttl <= 1_500, `expires in ${ttl} ms`);
	});
});
