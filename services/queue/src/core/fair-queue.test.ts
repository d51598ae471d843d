import { createRedisClient, type RedisClient } from "../../../kit/src/index.js";
import { testStores } from "../../../kit/src/testing/stores.js";
import { fairQueueSuite } from "./fair-queue.suite.js";

let redis: RedisClient | undefined;

fairQueueSuite(
	"fair queue on a Redis server",
	async () => {
		redis = createRedisClient({ url: (await testStores()).redisUrl });
		return redis;
	},
	async () => {
		await redis?.quit();
	},
);
