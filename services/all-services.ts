import { batchModule } from "./batch/src/batch-module.js";
import type { ServiceModule } from "./kit/src/index.js";
import { logIngestModule } from "./log-ingest/src/log-ingest-module.js";
import { queueModule } from "./queue/src/queue-module.js";
import { schedulerModule } from "./scheduler/src/scheduler-module.js";
import { telemetryModule } from "./telemetry/src/telemetry-module.js";

/** Every service, in start order (dependencies first). */
export const allServiceModules: ServiceModule[] = [
	queueModule,
	schedulerModule,
	batchModule,
	logIngestModule,
	telemetryModule,
];
