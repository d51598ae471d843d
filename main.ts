// `npm start`: every service and the gateway in one process, one log stream.
// The gateway imports no service code and the services know nothing of the
// gateway; this file is the only place both are started together.
import { startGateway } from "./gateway/src/gateway.js";
import { loadGatewayConfig } from "./gateway/src/gateway-config.js";
import { allServiceModules } from "./services/all-services.js";
import { ConfigError, runServices } from "./services/kit/src/index.js";

try {
	const gatewayConfig = loadGatewayConfig();
	const services = await runServices(allServiceModules, { processName: "taskmesh" });
	const gateway = await startGateway({
		config: services.config,
		gateway: gatewayConfig,
		logger: services.logger.child({ service: "gateway" }),
	});
	const onSignal = (signal: NodeJS.Signals) => {
		services.logger.info({ signal }, "shutting down");
		// The gateway first, so no new call reaches a draining service.
		gateway
			.close()
			.then(() => services.stop())
			.then(() => process.exit(0))
			.catch((error: unknown) => {
				services.logger.error({ err: error }, "shutdown failed");
				process.exit(1);
			});
	};
	process.once("SIGTERM", onSignal);
	process.once("SIGINT", onSignal);
} catch (error) {
	if (error instanceof ConfigError) {
		process.stderr.write(`taskmesh: ${error.message}\n`);
		process.exit(78);
	}
	process.stderr.write(
		`taskmesh: failed to start: ${error instanceof Error ? error.stack : String(error)}\n`,
	);
	process.exit(1);
}
