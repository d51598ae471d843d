import { BatchService } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { registration, type ServiceModule } from "../../kit/src/index.js";

/**
 * The batch service as a process hosts it. Its RPCs are answered UNIMPLEMENTED by
 * gRPC until the batch issue implements them.
 */
export const batchModule: ServiceModule = {
	name: "batch",
	async start() {
		return {
			services: [registration(BatchService, {})],
			close: async () => {},
		};
	},
};
