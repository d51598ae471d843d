import { createRedisClient, type RedisClient } from "../../../kit/src/index.js";
import { fairQueueSuite } from "./fair-queue.suite.js";
import { startRedisCluster, type TestRedisCluster } from "./redis-cluster-fixture.js";

let cluster: TestRedisCluster | undefined;
let redis: RedisClient | undefined;

// The same suite as on one server, on three masters: every environment's keys
// share a hash tag, so each script runs on the node that owns its slot.
fairQueueSuite(
	"fair queue on a Redis Cluster of three masters",
	async () => {
		cluster = await startRedisCluster();
		redis = createRedisClient({ url: "redis://unused", clusterNodes: cluster.nodes });
		return redis;
	},
	async () => {
		try {
			await redis?.quit();
		} finally {
			await cluster?.stop();
		}
	},
);
