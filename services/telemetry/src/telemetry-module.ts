import {
	ExporterRegistryService,
	TelemetryService,
} from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { registration, type ServiceModule } from "../../kit/src/index.js";

/**
 * The telemetry service as a process hosts it. Its RPCs are answered UNIMPLEMENTED by
 * gRPC until the telemetry issue implements them.
 */
export const telemetryModule: ServiceModule = {
	name: "telemetry",
	async start() {
		return {
			services: [registration(TelemetryService, {}), registration(ExporterRegistryService, {})],
			close: async () => {},
		};
	},
};
