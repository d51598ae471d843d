import type { Logger } from "pino";
import {
	createRedisClient,
	type PlatformConfig,
	parseClusterNodes,
	type RedisClient,
	type ServiceModule,
} from "../../kit/src/index.js";
import type { Clock } from "./core/clock.js";
import { systemClock } from "./core/clock.js";
import { createQueueCore, type QueueCore } from "./core/queue-core.js";
import { loadQueueConfig, type QueueConfig } from "./queue-config.js";
import { queueServiceRegistration } from "./rpc/queue-service.js";

/** Builds the queue core from configuration and open clients (the module and tests share it). */
export function queueCoreFrom(options: {
	platform: Pick<PlatformConfig, "TASKMESH_ENV">;
	config: QueueConfig;
	redis: RedisClient;
	subscriber?: RedisClient;
	logger: Logger;
	clock?: Clock;
	namespace?: string;
	sweepEveryMs?: number;
}): QueueCore {
	const { config } = options;
	return createQueueCore({
		redis: options.redis,
		...(options.subscriber === undefined ? {} : { subscriber: options.subscriber }),
		clock: options.clock ?? systemClock,
		logger: options.logger,
		namespace: options.namespace ?? config.QUEUE_REDIS_NAMESPACE,
		defaults: {
			visibilityTimeoutMs: config.QUEUE_DEFAULT_VISIBILITY_TIMEOUT_MS,
			concurrencyLimit: config.QUEUE_DEFAULT_CONCURRENCY_LIMIT,
			keySharePercent: config.QUEUE_KEY_SHARE_PERCENT,
			maxNacks: config.QUEUE_DEFAULT_MAX_NACKS,
			acknowledgedRetentionSeconds: config.QUEUE_ACKED_RETENTION_SECONDS,
		},
		lifecycleLog: options.platform.TASKMESH_ENV === "development",
		telemetry: config.QUEUE_TELEMETRY,
		sweepEveryMs: options.sweepEveryMs ?? config.QUEUE_SWEEP_INTERVAL_MS,
	});
}

/**
 * The queue service as a process hosts it: opens Redis (a server or a cluster,
 * plus a second connection for wake-ups from other replicas), builds the core
 * and serves taskmesh.queue.v1.QueueService.
 */
export const queueModule: ServiceModule = {
	name: "queue",
	async start({ config: platform, logger }) {
		const config = loadQueueConfig();
		const clusterNodes = parseClusterNodes(platform.REDIS_CLUSTER_NODES);
		const connect = () =>
			createRedisClient({ url: platform.REDIS_URL, ...(clusterNodes === undefined ? {} : { clusterNodes }) });
		const redis = connect();
		const subscriber = connect();
		const core = queueCoreFrom({ platform, config, redis, subscriber, logger });
		return {
			services: [queueServiceRegistration({ core, config })],
			close: async () => {
				await core.close();
				await Promise.allSettled([redis.quit(), subscriber.quit()]);
			},
		};
	},
};
