import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { BatchService } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { LogIngestService } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	ExporterRegistryService,
	TelemetryService,
} from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { type EnvironmentPath, environmentPaths } from "./environment-scope.js";

/** Which backend serves a service (picks its TASKMESH_*_URL). */
export type Backend = "queue" | "scheduler" | "batch" | "log-ingest" | "telemetry";

/** One service as the gateway exposes it. */
export interface PublicService {
	service: DescService;
	backend: Backend;
	/** Method names (as in the proto) callers may reach through the gateway. */
	methods: readonly string[];
	/** Methods that name no environment because their answer is the same for all. */
	global?: readonly string[];
}

/**
 * The public surface. Producer/consumer internals (Enqueue, Consume, ...), the
 * batch service's bulk path (TriggerRuns, StreamRunCompletions, ResolveWait)
 * and the worker protocol (RegisterWorker, StartAttempt, CompleteAttempt,
 * BeginWait, ...) stay on the internal mesh: the worker calls carry a worker
 * or attempt id but no environment, so a key could not be held to its own.
 */
export const PUBLIC_SERVICES: readonly PublicService[] = [
	{
		service: SchedulerService,
		backend: "scheduler",
		methods: [
			"TriggerRun",
			"TriggerStream",
			"GetRun",
			"GetRuns",
			"ListRuns",
			"CancelRun",
			"ReplayRun",
			"WaitForRun",
			"ListMachinePresets",
			"CreateSchedule",
			"GetSchedule",
			"ListSchedules",
			"UpdateSchedule",
			"DeleteSchedule",
			"ActivateSchedule",
			"DeactivateSchedule",
			"CreateDeployment",
			"PromoteDeployment",
			"GetCurrentDeployment",
			"ListDeployments",
		],
		global: ["ListMachinePresets"],
	},
	{
		service: BatchService,
		backend: "batch",
		methods: ["CreateBatch", "StreamBatchItems", "GetBatch", "ListBatchItems", "WaitForBatch"],
	},
	{
		service: QueueService,
		backend: "queue",
		methods: ["GetQueue", "ListQueues", "UpdateQueue", "UpdateEnvironment", "ListDeadLetters", "Redrive"],
	},
	{
		service: LogIngestService,
		backend: "log-ingest",
		methods: ["Ingest", "Tail", "Query", "ReadMessageBody"],
	},
	{ service: TelemetryService, backend: "telemetry", methods: ["Export"] },
	{
		service: ExporterRegistryService,
		backend: "telemetry",
		methods: [
			"RegisterExporter",
			"ListExporters",
			"GetExporter",
			"UpdateExporter",
			"DeleteExporter",
			"TestExporter",
		],
	},
];

/** A method the gateway forwards, with where its environment goes. */
export interface PublicMethod {
	service: DescService;
	method: DescMethod;
	backend: Backend;
	environmentPaths: EnvironmentPath[];
}

/**
 * Resolves the surface against the descriptors. Throws at start-up when a
 * listed method does not exist or names no environment without being marked
 * global, so a contract change can never open an unscoped method by accident.
 */
export function publicMethods(services: readonly PublicService[] = PUBLIC_SERVICES): PublicMethod[] {
	const resolved: PublicMethod[] = [];
	for (const entry of services) {
		for (const name of entry.methods) {
			const method = entry.service.methods.find((m) => m.name === name);
			if (method === undefined) throw new Error(`${entry.service.typeName} has no method ${name}`);
			const paths = environmentPaths(method.input);
			if (paths.length === 0 && !(entry.global ?? []).includes(name)) {
				throw new Error(`${entry.service.typeName}/${name} names no environment and is not marked global`);
			}
			resolved.push({ service: entry.service, method, backend: entry.backend, environmentPaths: paths });
		}
	}
	return resolved;
}
