import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { registration, type ServiceModule } from "../../kit/src/index.js";

/**
 * The queue service as a process hosts it. Its RPCs are answered UNIMPLEMENTED by
 * gRPC until the queue issue implements them.
 */
export const queueModule: ServiceModule = {
	name: "queue",
	async start() {
		return {
			services: [registration(QueueService, {})],
			close: async () => {},
		};
	},
};
