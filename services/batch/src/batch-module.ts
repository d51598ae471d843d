import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	createPostgresPool,
	createServiceClient,
	createServiceTransport,
	migrate,
	type PlatformConfig,
	type ServiceModule,
} from "../../kit/src/index.js";
import { type BatchConfig, loadBatchConfig } from "./batch-config.js";
import { BatchCore } from "./core/batch-core.js";
import { BatchWatch } from "./core/batch-watch.js";
import { systemClock } from "./core/clock.js";
import { batchServiceRegistration } from "./rpc/batch-service.js";
import { createRunViewsClient } from "./rpc/run-views.js";
import { SchedulerChildren } from "./rpc/scheduler-children.js";

/** Where the batch service's SQL migrations are. */
export const BATCH_MIGRATIONS = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * The batch service as a process hosts it: opens its PostgreSQL schema, runs its
 * migrations, talks to the scheduler through its generated client, starts the
 * completions feed reader and the sweeper, and serves taskmesh.batch.v1.BatchService.
 */
export const batchModule: ServiceModule = {
	name: "batch",
	async start({ config: platform, logger }) {
		const config = loadBatchConfig();
		return startBatchService({ platform, config, logger });
	},
};

/** Starts the service from parsed configuration (the module and the tests share it). */
export async function startBatchService(options: {
	platform: PlatformConfig;
	config: BatchConfig;
	logger: Logger;
}) {
	const { platform, config, logger } = options;
	const pool = createPostgresPool({
		url: platform.DATABASE_URL,
		schema: config.BATCH_DATABASE_SCHEMA,
		max: platform.DATABASE_POOL_SIZE,
	});
	await migrate({ pool, schema: config.BATCH_DATABASE_SCHEMA, directory: BATCH_MIGRATIONS, logger });
	const schedulerTransport = createServiceTransport({ baseUrl: platform.TASKMESH_SCHEDULER_URL });
	const scheduler = createServiceClient(SchedulerService, schedulerTransport);
	const schedulerRuns = createRunViewsClient(schedulerTransport);
	const core = new BatchCore(
		{
			pool,
			clock: systemClock,
			logger,
			children: new SchedulerChildren(scheduler, schedulerRuns),
			watch: new BatchWatch(),
			limits: {
				maxItems: config.BATCH_MAX_ITEMS,
				chunkSize: config.BATCH_CHUNK_SIZE,
				parallelism: config.BATCH_PARALLELISM,
				defaultSealTimeoutMs: config.BATCH_DEFAULT_SEAL_TIMEOUT_MS,
				defaultIdempotencyKeyTtlMs: config.BATCH_DEFAULT_IDEMPOTENCY_KEY_TTL_MS,
				resumeResultsMaxBytes: config.BATCH_RESUME_RESULTS_MAX_BYTES,
			},
		},
		{ sweepIntervalMs: config.BATCH_SWEEP_INTERVAL_MS },
	);
	core.start();
	return {
		services: [
			batchServiceRegistration(core, {
				maxPayloadBytes: config.BATCH_MAX_PAYLOAD_BYTES,
				maxInlineItems: config.BATCH_MAX_INLINE_ITEMS,
				maxItems: config.BATCH_MAX_ITEMS,
				maxSealTimeoutMs: config.BATCH_MAX_SEAL_TIMEOUT_MS,
				watchPollMs: config.BATCH_WATCH_POLL_MS,
			}),
		],
		close: async () => {
			await core.close();
			await pool.end();
		},
	};
}
