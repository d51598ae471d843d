import { fileURLToPath } from "node:url";
import type pg from "pg";
import type { Logger } from "pino";
import {
	ExporterRegistryService,
	TelemetryService,
} from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { migrate, registration, type ServiceRegistration } from "../../kit/src/index.js";
import type { TelemetryConfig } from "./config/telemetry-config.js";
import { ExporterFanout } from "./core/exporter-fanout.js";
import type { SinkBuilder } from "./core/exporter-sink.js";
import { builtInSinkBuilder } from "./exporters/sink-factories.js";
import { ExporterRegistry } from "./registry/exporter-registry.js";
import { RegistryListener } from "./registry/registry-listener.js";
import { registryService } from "./rpc/registry-service.js";
import { telemetryService } from "./rpc/telemetry-service.js";

/** Where the registry's migrations live. */
export const MIGRATIONS_DIRECTORY = fileURLToPath(new URL("../migrations", import.meta.url));

/** What the telemetry service runs on. */
export interface TelemetryRuntimeOptions {
	pool: pg.Pool;
	databaseUrl: string;
	schema: string;
	config: TelemetryConfig;
	logger: Logger;
	/** The exporter kinds; the built-in set by default. */
	builder?: SinkBuilder;
}

/** A started telemetry service: its registrations and the parts tests look into. */
export interface TelemetryRuntime {
	services: ServiceRegistration[];
	fanout: ExporterFanout;
	registry: ExporterRegistry;
	listener: RegistryListener;
	close(): Promise<void>;
}

/**
 * Migrates the registry, loads every stored exporter, listens for changes from
 * other replicas and returns the two gRPC services.
 */
export async function startTelemetryRuntime(options: TelemetryRuntimeOptions): Promise<TelemetryRuntime> {
	const { pool, schema, logger } = options;
	await migrate({ pool, schema, directory: MIGRATIONS_DIRECTORY, logger });
	const builder =
		options.builder ??
		builtInSinkBuilder({
			fileRoots: options.config.TELEMETRY_FILE_ROOTS,
			moduleRoots: options.config.TELEMETRY_MODULE_ROOTS,
		});
	const fanout = new ExporterFanout({ builder, logger });
	const channel = `${schema}_exporters_changed`;
	const registry = new ExporterRegistry({
		pool,
		fanout,
		builder,
		channel,
		maxExportersPerEnvironment: options.config.TELEMETRY_MAX_EXPORTERS_PER_ENVIRONMENT,
		logger,
	});
	const listener = await RegistryListener.start({
		databaseUrl: options.databaseUrl,
		channel,
		intervalMs: options.config.TELEMETRY_RELOAD_INTERVAL_MS,
		reload: () => registry.reload(),
		logger,
	});
	await listener.trigger();
	return {
		services: [
			registration(
				TelemetryService,
				telemetryService({ fanout, maxItems: options.config.TELEMETRY_MAX_EXPORT_ITEMS }),
			),
			registration(ExporterRegistryService, registryService({ registry, fanout })),
		],
		fanout,
		registry,
		listener,
		async close() {
			await listener.close();
			await fanout.close();
		},
	};
}
