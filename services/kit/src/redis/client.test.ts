import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { testKeyPrefix, testStores } from "../testing/stores.js";
import { createRedisClient, parseClusterNodes } from "./client.js";

describe("redis client factory", () => {
	test("a standalone client prefixes every key it writes", async () => {
		const { redisUrl } = await testStores();
		const prefix = testKeyPrefix("kit");
		const client = createRedisClient({ url: redisUrl, keyPrefix: prefix });
		const raw = createRedisClient({ url: redisUrl });
		try {
			await client.set("{q}:depth", "3");
			assert.equal(await raw.get(`${prefix}{q}:depth`), "3");
			assert.equal(await client.get("{q}:depth"), "3");
		} finally {
			await raw.del(`${prefix}{q}:depth`);
			client.disconnect();
			raw.disconnect();
		}
	});

	test("cluster seed nodes are read from REDIS_CLUSTER_NODES", () => {
		assert.deepEqual(parseClusterNodes("10.0.0.1:7000, redis-2:7001"), [
			{ host: "10.0.0.1", port: 7000 },
			{ host: "redis-2", port: 7001 },
		]);
		assert.equal(parseClusterNodes(""), undefined);
		assert.equal(parseClusterNodes(undefined), undefined);
	});
});
