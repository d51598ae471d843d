import type { Logger } from "pino";
import type { RedisClient } from "../../../kit/src/index.js";
import type { Clock } from "./clock.js";
import { FairQueue } from "./fair-queue.js";
import { LifecycleLog } from "./lifecycle-log.js";
import { QueueCatalog } from "./queue-catalog.js";
import type { QueueContext, QueueDefaults } from "./queue-context.js";
import { QueueMetrics } from "./queue-metrics.js";
import { VisibilityReaper } from "./visibility-reaper.js";
import { WakeBus } from "./wake-bus.js";

/** What the queue core is built from. */
export interface QueueCoreOptions {
	redis: RedisClient;
	/** A second connection for wake-ups from other replicas; none keeps wake-ups local. */
	subscriber?: RedisClient;
	clock: Clock;
	logger: Logger;
	namespace: string;
	defaults: QueueDefaults;
	/** Log every message's lifecycle (development environments). */
	lifecycleLog: boolean;
	/** Count OpenTelemetry metrics. */
	telemetry: boolean;
	/** How often the reaper sweeps, ms; 0 leaves it off (tests sweep by hand). */
	sweepEveryMs: number;
}

/** The queue's parts wired to one set of resources. */
export interface QueueCore {
	queue: FairQueue;
	catalog: QueueCatalog;
	context: QueueContext;
	/** Stops the reaper and the wake-up subscription (the clients are the caller's). */
	close(): Promise<void>;
}

/** Builds the queue core: delivery side, control side, wake bus and reaper. */
export function createQueueCore(options: QueueCoreOptions): QueueCore {
	const wake = new WakeBus({
		redis: options.redis,
		...(options.subscriber === undefined ? {} : { subscriber: options.subscriber }),
		channel: `${options.namespace}:wake`,
		logger: options.logger,
	});
	const context: QueueContext = {
		redis: options.redis,
		clock: options.clock,
		logger: options.logger,
		namespace: options.namespace,
		defaults: options.defaults,
		wake,
		lifecycle: new LifecycleLog({ logger: options.logger, enabled: options.lifecycleLog }),
		metrics: new QueueMetrics({ enabled: options.telemetry }),
	};
	const queue = new FairQueue(context);
	const reaper = new VisibilityReaper({ queue, everyMs: options.sweepEveryMs, logger: options.logger });
	if (options.sweepEveryMs > 0) reaper.start();
	return {
		queue,
		catalog: new QueueCatalog(context),
		context,
		async close() {
			await reaper.stop();
			await wake.close();
		},
	};
}
