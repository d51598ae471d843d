import type { Logger } from "pino";
import type { PlatformConfig, ServiceName } from "../config/platform-config.js";
import type { ServiceRegistration } from "../grpc/implementation.js";
import type { ReceiveWindows } from "../grpc/server.js";

/** What a service needs from the process that hosts it. */
export interface ServiceDependencies {
	config: PlatformConfig;
	logger: Logger;
}

/** A started service: what to serve, and how to release its stores. */
export interface StartedService {
	services: ServiceRegistration[];
	/** HTTP/2 receive windows for a service that takes bulk uploads; the defaults otherwise. */
	receiveWindows?: ReceiveWindows;
	close(): Promise<void>;
}

/**
 * A taskmesh service as its main and `npm start` see it: a name (which picks
 * its port variable) and a factory that opens its stores and returns its
 * gRPC registrations.
 */
export interface ServiceModule {
	name: ServiceName;
	start(dependencies: ServiceDependencies): Promise<StartedService>;
}
