import os from "node:os";
import { type ClientConfig, isGateway } from "../client/config.js";
import type { Resources } from "./resource-ledger.js";

/** MiB of a preset's memory, the child's heap cap. */
export function memoryMiB(memoryGb: number): number {
	return Math.round(memoryGb * 1024);
}

/** The host's cores and memory (rounded down to a quarter GB). */
export function hostCapacity(): Resources {
	const cpu = os.availableParallelism();
	const memoryGb = Math.floor((os.totalmem() / 1024 ** 3) * 4) / 4;
	return { cpu, memoryGb };
}

/** The variables a child needs to make its own calls (tasks.trigger inside a task). */
export function childEnv(config: ClientConfig): NodeJS.ProcessEnv {
	if (isGateway(config)) return { TASKMESH_URL: config.url, TASKMESH_API_KEY: config.apiKey };
	return {
		TASKMESH_URL: "",
		TASKMESH_QUEUE_URL: config.services.queue,
		TASKMESH_SCHEDULER_URL: config.services.scheduler,
		TASKMESH_BATCH_URL: config.services.batch,
		TASKMESH_LOG_INGEST_URL: config.services.logs,
		TASKMESH_TELEMETRY_URL: config.services.telemetry,
		TASKMESH_ENVIRONMENT: config.environmentId ?? "dev",
	};
}
