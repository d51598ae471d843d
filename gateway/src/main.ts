import {
	ConfigError,
	createLogger,
	loadPlatformConfig,
	startTelemetry,
	type TelemetryShutdown,
} from "../../services/kit/src/index.js";
import { startGateway } from "./gateway.js";
import { loadGatewayConfig } from "./gateway-config.js";

// `npm run start:gateway`: the HTTP gateway alone, in front of services reached by TASKMESH_*_URL.
try {
	const config = loadPlatformConfig();
	const gateway = loadGatewayConfig();
	const logger = createLogger({ level: config.LOG_LEVEL, service: "gateway" });
	const stopTelemetry: TelemetryShutdown = config.OTEL_ENABLED
		? startTelemetry({ serviceName: "gateway" })
		: async () => {};
	const running = await startGateway({ config, gateway, logger });
	const onSignal = (signal: NodeJS.Signals) => {
		logger.info({ signal }, "shutting down");
		running
			.close()
			.then(stopTelemetry)
			.then(() => process.exit(0))
			.catch((error: unknown) => {
				logger.error({ err: error }, "shutdown failed");
				process.exit(1);
			});
	};
	process.once("SIGTERM", onSignal);
	process.once("SIGINT", onSignal);
} catch (error) {
	if (error instanceof ConfigError) {
		process.stderr.write(`gateway: ${error.message}\n`);
		process.exit(78);
	}
	process.stderr.write(`gateway: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
	process.exit(1);
}
