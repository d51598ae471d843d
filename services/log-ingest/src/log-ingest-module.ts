import { fileURLToPath } from "node:url";
import { createPostgresPool, migrate, registration, type ServiceModule } from "../../kit/src/index.js";
import { loadLogIngestConfig, receiveWindowsOf } from "./config.js";
import { LogStore } from "./core/log-store.js";
import { logIngestImplementation } from "./rpc/log-ingest-service.js";
import { servedLogIngestService } from "./rpc/served-service.js";

/** Where the service's numbered SQL migrations live. */
export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL("../migrations", import.meta.url));

/**
 * The log-ingest service as a process hosts it: opens its PostgreSQL pool in its own
 * schema, migrates it, starts the tail listener and the incomplete sweeper.
 */
export const logIngestModule: ServiceModule = {
	name: "log-ingest",
	async start({ config, logger }) {
		const own = loadLogIngestConfig();
		const schema = own.LOG_INGEST_DATABASE_SCHEMA;
		const pool = createPostgresPool({ url: config.DATABASE_URL, schema, max: config.DATABASE_POOL_SIZE });
		try {
			await migrate({ pool, schema, directory: MIGRATIONS_DIRECTORY, logger });
			const store = await LogStore.open({
				pool,
				databaseUrl: config.DATABASE_URL,
				schema,
				settings: {
					limits: {
						maxMessageBytes: own.LOG_INGEST_MAX_MESSAGE_BYTES,
						maxChunkBytes: own.LOG_INGEST_MAX_CHUNK_BYTES,
						maxChunks: own.LOG_INGEST_MAX_CHUNKS,
					},
					maxFrameInflatedBytes: own.LOG_INGEST_MAX_FRAME_INFLATED_BYTES,
					inlineBodyBytes: own.LOG_INGEST_INLINE_BODY_BYTES,
				},
				clock: { now: () => Date.now() },
				logger,
				incompleteAfterMs: own.LOG_INGEST_INCOMPLETE_AFTER_MS,
				sweepIntervalMs: own.LOG_INGEST_SWEEP_INTERVAL_MS,
				tailPollMs: own.LOG_INGEST_TAIL_POLL_MS,
			});
			return {
				services: [
					registration(
						servedLogIngestService,
						logIngestImplementation({
							store,
							inlineBodyBytes: own.LOG_INGEST_INLINE_BODY_BYTES,
							maxFrameBytes: own.LOG_INGEST_MAX_FRAME_BYTES,
						}),
					),
				],
				receiveWindows: receiveWindowsOf(own),
				close: async () => {
					await store.close();
					await pool.end();
				},
			};
		} catch (error) {
			await pool.end().catch(() => {});
			throw error;
		}
	},
};
