import { createPostgresPool, type ServiceModule } from "../../kit/src/index.js";
import { loadTelemetryConfig } from "./config/telemetry-config.js";
import { startTelemetryRuntime } from "./telemetry-runtime.js";

/**
 * The telemetry service as a process hosts it: its own PostgreSQL schema for
 * the exporter registry, the running exporter set, and the two gRPC services.
 */
export const telemetryModule: ServiceModule = {
	name: "telemetry",
	async start({ config, logger }) {
		const telemetryConfig = loadTelemetryConfig();
		const schema = telemetryConfig.TELEMETRY_DATABASE_SCHEMA;
		const pool = createPostgresPool({
			url: config.DATABASE_URL,
			schema,
			max: config.DATABASE_POOL_SIZE,
			applicationName: "taskmesh-telemetry",
		});
		try {
			const runtime = await startTelemetryRuntime({
				pool,
				databaseUrl: config.DATABASE_URL,
				schema,
				config: telemetryConfig,
				logger,
			});
			return {
				services: runtime.services,
				close: async () => {
					await runtime.close();
					await pool.end();
				},
			};
		} catch (error) {
			await pool.end();
			throw error;
		}
	},
};
