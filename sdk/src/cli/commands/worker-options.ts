import path from "node:path";
import type { ClientConfig } from "../../client/config.js";
import type { WorkerOptions } from "../../worker/worker.js";
import { flag, type ParsedArgs, UsageError } from "../args.js";

type Env = Record<string, string | undefined>;

/**
 * The worker's options from `taskmesh worker` flags, with environment variables
 * where a flag is absent. Every bad value is a UsageError naming the flag or
 * variable.
 */
export function workerOptionsOf(
	args: ParsedArgs,
	development: boolean,
	config: ClientConfig,
	env: Env,
): WorkerOptions {
	if (args.positional.length === 0)
		throw new UsageError("worker: name the task file(s), e.g. taskmesh worker src/tasks.ts");
	const positive = (name: string, variable: string) =>
		numberOf(flag(args, name), `--${name}`, false) ?? numberOf(env[variable], variable, false);
	const cpu = positive("cpu", "TASKMESH_WORKER_CPU");
	const memoryGb = positive("memory-gb", "TASKMESH_WORKER_MEMORY_GB");
	const maxAttempts = positive("max-attempts", "TASKMESH_WORKER_MAX_ATTEMPTS");
	const telemetryMs = numberOf(env.TASKMESH_WORKER_TELEMETRY_MS, "TASKMESH_WORKER_TELEMETRY_MS", false);
	// 0 keeps no suspended child: every resume replays the task.
	const suspendedKeepMs = numberOf(
		env.TASKMESH_WORKER_SUSPENDED_KEEP_MS,
		"TASKMESH_WORKER_SUSPENDED_KEEP_MS",
		true,
	);
	// 0 is a valid prefetch: one delivery per free slot.
	const prefetch =
		numberOf(flag(args, "prefetch"), "--prefetch", true) ??
		numberOf(env.TASKMESH_WORKER_PREFETCH, "TASKMESH_WORKER_PREFETCH", true);
	if (prefetch !== undefined && !Number.isInteger(prefetch))
		throw new UsageError(`--prefetch: "${prefetch}" is not a whole number`);
	const id = flag(args, "id");
	const version = flag(args, "version");
	return {
		entries: args.positional.map((p) => path.resolve(p)),
		config,
		development: development || env.TASKMESH_ENV !== "production",
		...(telemetryMs === undefined ? {} : { telemetryPeriodMs: telemetryMs }),
		...(suspendedKeepMs === undefined ? {} : { suspendedKeepMs }),
		...(id === undefined ? {} : { workerId: id }),
		...(cpu === undefined || memoryGb === undefined ? {} : { capacity: { cpu, memoryGb } }),
		...(maxAttempts === undefined ? {} : { maxConcurrentAttempts: maxAttempts }),
		...(prefetch === undefined ? {} : { prefetchDeliveries: prefetch }),
		gracePeriodMs: positive("grace-ms", "TASKMESH_WORKER_GRACE_MS") ?? 30_000,
		...(version === undefined ? {} : { deploymentVersion: version }),
	};
}

/** A number from a flag or variable; undefined when absent or empty. */
function numberOf(value: string | undefined, name: string, zeroAllowed: boolean): number | undefined {
	if (value === undefined || value === "") return undefined;
	const n = Number(value);
	if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed))
		throw new UsageError(`${name}: "${value}" is not a ${zeroAllowed ? "non-negative" : "positive"} number`);
	return n;
}
