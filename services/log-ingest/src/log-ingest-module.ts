import { LogIngestService } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { registration, type ServiceModule } from "../../kit/src/index.js";

/**
 * The log-ingest service as a process hosts it. Its RPCs are answered UNIMPLEMENTED by
 * gRPC until the log-ingest issue implements them.
 */
export const logIngestModule: ServiceModule = {
	name: "log-ingest",
	async start() {
		return {
			services: [registration(LogIngestService, {})],
			close: async () => {},
		};
	},
};
