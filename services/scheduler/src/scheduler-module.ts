import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { Logger } from "pino";
import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import {
	createPostgresPool,
	createServiceClient,
	migrate,
	type PlatformConfig,
	type ServiceModule,
} from "../../kit/src/index.js";
import type { Clock } from "./core/clock.js";
import { type EngineIntervals, SchedulerEngine } from "./core/scheduler-engine.js";
import { BatchingRunQueue } from "./rpc/batching-run-queue.js";
import { QueueClientRunQueue } from "./rpc/queue-run-queue.js";
import { schedulerServiceRegistration } from "./rpc/scheduler-service.js";
import { loadSchedulerConfig, type SchedulerConfig } from "./scheduler-config.js";

/** The folder of the scheduler's numbered SQL migrations. */
export const SCHEDULER_MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

/** Builds the engine from configuration and open stores (the module, tests and the benchmark share it). */
export function schedulerEngineFrom(options: {
	platform: Pick<PlatformConfig, "TASKMESH_QUEUE_URL">;
	config: SchedulerConfig;
	pool: pg.Pool;
	schema: string;
	logger: Logger;
	clock?: Clock;
	intervals?: Partial<EngineIntervals>;
}): SchedulerEngine {
	const { config } = options;
	const queue = new BatchingRunQueue(
		new QueueClientRunQueue(
			createServiceClient(QueueService, { baseUrl: options.platform.TASKMESH_QUEUE_URL }),
		),
	);
	return new SchedulerEngine({
		pool: options.pool,
		schema: options.schema,
		queue,
		logger: options.logger,
		...(options.clock === undefined ? {} : { clock: options.clock }),
		limits: {
			maxPayloadBytes: config.SCHEDULER_MAX_PAYLOAD_BYTES,
			maxMetadataBytes: config.SCHEDULER_MAX_METADATA_BYTES,
			maxOutputBytes: config.SCHEDULER_MAX_OUTPUT_BYTES,
			resolvedWaitsInlineBytes: config.SCHEDULER_RESOLVED_WAITS_INLINE_BYTES,
			heartbeatIntervalMs: config.SCHEDULER_HEARTBEAT_INTERVAL_MS,
			defaultIdempotencyKeyTtlMs: config.SCHEDULER_IDEMPOTENCY_KEY_TTL_MS,
		},
		intervals: {
			maintenanceMs: config.SCHEDULER_MAINTENANCE_INTERVAL_MS,
			cronMs: config.SCHEDULER_CRON_INTERVAL_MS,
			reconcileMs: config.SCHEDULER_RECONCILE_INTERVAL_MS,
			reconcileMinAgeMs: config.SCHEDULER_RECONCILE_MIN_AGE_MS,
			...options.intervals,
		},
	});
}

/**
 * The scheduler service as a process hosts it: opens its PostgreSQL schema,
 * migrates it, talks to the queue through its gRPC client, starts the background
 * loops and serves taskmesh.scheduler.v1.SchedulerService.
 */
export const schedulerModule: ServiceModule = {
	name: "scheduler",
	async start({ config: platform, logger }) {
		const config = loadSchedulerConfig(process.env, platform.GRPC_MAX_SEND_MESSAGE_BYTES);
		const schema = config.SCHEDULER_DATABASE_SCHEMA;
		const pool = createPostgresPool({ url: platform.DATABASE_URL, schema, max: platform.DATABASE_POOL_SIZE });
		await migrate({ pool, schema, directory: SCHEDULER_MIGRATIONS, logger });
		const engine = schedulerEngineFrom({ platform, config, pool, schema, logger });
		engine.start();
		return {
			services: [schedulerServiceRegistration({ engine, streamPollMs: config.SCHEDULER_STREAM_POLL_MS })],
			close: async () => {
				await engine.close();
				await pool.end();
			},
		};
	},
};
