import type { Logger } from "pino";
import { ConfigError, type Environment } from "../config/env.js";
import { loadPlatformConfig, type PlatformConfig, portOf, urlKeyOf } from "../config/platform-config.js";
import { GrpcServiceHost } from "../grpc/server.js";
import { createLogger } from "../logging/logger.js";
import { startTelemetry, type TelemetryShutdown } from "../telemetry/bootstrap.js";
import { TelemetryServiceSpanExporter } from "../telemetry/telemetry-service-exporter.js";
import type { ServiceModule, StartedService } from "./service-module.js";

/** A running process of one or more services. */
export interface RunningServices {
	config: PlatformConfig;
	logger: Logger;
	hosts: Map<string, GrpcServiceHost>;
	/** Drains every server, closes stores and flushes telemetry. */
	stop(): Promise<void>;
}

/** Options of runServices. */
export interface RunServicesOptions {
	/** Name on log lines and on the telemetry resource. */
	processName: string;
	env?: Environment;
	/** Install SIGTERM/SIGINT handlers that drain and exit (mains do; tests don't). */
	handleSignals?: boolean;
}

/**
 * Starts services in this process, each on its own port, with one log stream
 * and one telemetry SDK. Configuration is read once; a bad variable throws
 * ConfigError before anything listens.
 */
export async function runServices(
	modules: ServiceModule[],
	options: RunServicesOptions,
): Promise<RunningServices> {
	const config = loadPlatformConfig(options.env);
	const logger = createLogger({ level: config.LOG_LEVEL, service: options.processName });
	const stopTelemetry: TelemetryShutdown = config.OTEL_ENABLED
		? startTelemetry({
				serviceName: options.processName,
				spanExporter:
					config.TASKMESH_TRACE_EXPORT === "telemetry-service"
						? new TelemetryServiceSpanExporter({
								baseUrl: config.TASKMESH_TELEMETRY_URL,
								environmentId: config.TASKMESH_TRACE_ENVIRONMENT_ID,
							})
						: undefined,
			})
		: async () => {};
	const started: Array<{ module: ServiceModule; service: StartedService }> = [];
	const hosts = new Map<string, GrpcServiceHost>();
	let stopping: Promise<void> | undefined;

	const stop = () => {
		stopping ??= (async () => {
			await Promise.all([...hosts.values()].map((host) => host.drain()));
			for (const { service } of started.reverse()) await service.close();
			await stopTelemetry();
		})();
		return stopping;
	};

	try {
		for (const module of modules) {
			const moduleLogger = logger.child({ service: module.name });
			const service = await module.start({ config, logger: moduleLogger });
			started.push({ module, service });
			const host = await GrpcServiceHost.start({
				host: config.TASKMESH_HOST,
				port: portOf(config, module.name),
				services: service.services,
				logger: moduleLogger,
				maxReceiveMessageBytes: config.GRPC_MAX_RECEIVE_MESSAGE_BYTES,
				maxSendMessageBytes: config.GRPC_MAX_SEND_MESSAGE_BYTES,
				keepaliveTimeMs: config.GRPC_KEEPALIVE_TIME_MS,
				keepaliveTimeoutMs: config.GRPC_KEEPALIVE_TIMEOUT_MS,
				drainTimeoutMs: config.GRPC_DRAIN_TIMEOUT_MS,
				...(service.receiveWindows === undefined ? {} : { receiveWindows: service.receiveWindows }),
			});
			hosts.set(module.name, host);
			// Services started later in this process reach this one where it
			// actually listens (port 0 picks a free port).
			config[urlKeyOf(module.name)] = host.url;
		}
	} catch (error) {
		await stop().catch(() => {});
		throw error;
	}

	if (options.handleSignals) {
		const onSignal = (signal: NodeJS.Signals) => {
			logger.info({ signal }, "shutting down");
			stop()
				.then(() => process.exit(0))
				.catch((error: unknown) => {
					logger.error({ err: error }, "shutdown failed");
					process.exit(1);
				});
		};
		process.once("SIGTERM", onSignal);
		process.once("SIGINT", onSignal);
	}
	return { config, logger, hosts, stop };
}

/**
 * The body of a service main: runs the modules, and on a configuration error
 * prints the message (naming each variable) and exits with status 78 (EX_CONFIG).
 */
export async function mainOf(modules: ServiceModule[], processName: string): Promise<void> {
	try {
		await runServices(modules, { processName, handleSignals: true });
	} catch (error) {
		if (error instanceof ConfigError) {
			process.stderr.write(`${processName}: ${error.message}\n`);
			process.exit(78);
		}
		process.stderr.write(
			`${processName}: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
		);
		process.exit(1);
	}
}
