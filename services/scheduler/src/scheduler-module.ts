import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { registration, type ServiceModule } from "../../kit/src/index.js";

/**
 * The scheduler service as a process hosts it. Its RPCs are answered UNIMPLEMENTED by
 * gRPC until the scheduler issue implements them.
 */
export const schedulerModule: ServiceModule = {
	name: "scheduler",
	async start() {
		return {
			services: [registration(SchedulerService, {})],
			close: async () => {},
		};
	},
};
