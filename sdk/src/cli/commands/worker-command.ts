import path from "node:path";
import { configFromEnv } from "../../client/config.js";
import { Worker } from "../../worker/worker.js";
import { flag, type ParsedArgs, UsageError } from "../args.js";

/** `taskmesh worker <entry...>`: runs the project's tasks until SIGTERM or SIGINT. */
export async function workerCommand(args: ParsedArgs, development: boolean): Promise<void> {
	if (args.positional.length === 0)
		throw new UsageError("worker: name the task file(s), e.g. taskmesh worker src/tasks.ts");
	const entries = args.positional.map((p) => path.resolve(p));
	const cpu = numberFlag(args, "cpu") ?? numberEnv("TASKMESH_WORKER_CPU");
	const memoryGb = numberFlag(args, "memory-gb") ?? numberEnv("TASKMESH_WORKER_MEMORY_GB");
	const maxAttempts = numberFlag(args, "max-attempts") ?? numberEnv("TASKMESH_WORKER_MAX_ATTEMPTS");
	const telemetryMs = numberEnv("TASKMESH_WORKER_TELEMETRY_MS");
	const worker = await Worker.start({
		...(telemetryMs === undefined ? {} : { telemetryPeriodMs: telemetryMs }),
		entries,
		config: configFromEnv(),
		development: development || process.env.TASKMESH_ENV !== "production",
		...(flag(args, "id") === undefined ? {} : { workerId: flag(args, "id") as string }),
		...(cpu === undefined || memoryGb === undefined ? {} : { capacity: { cpu, memoryGb } }),
		...(maxAttempts === undefined ? {} : { maxConcurrentAttempts: maxAttempts }),
		gracePeriodMs: numberFlag(args, "grace-ms") ?? numberEnv("TASKMESH_WORKER_GRACE_MS") ?? 30_000,
		...(flag(args, "version") === undefined ? {} : { deploymentVersion: flag(args, "version") as string }),
	});
	await new Promise<void>((resolve) => {
		const stop = () => {
			process.off("SIGTERM", stop);
			process.off("SIGINT", stop);
			void worker.stop().then(resolve);
		};
		process.on("SIGTERM", stop);
		process.on("SIGINT", stop);
	});
}

function numberFlag(args: ParsedArgs, name: string): number | undefined {
	const v = flag(args, name);
	if (v === undefined) return undefined;
	const n = Number(v);
	if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name}: "${v}" is not a positive number`);
	return n;
}

function numberEnv(name: string): number | undefined {
	const v = process.env[name];
	if (v === undefined || v === "") return undefined;
	const n = Number(v);
	if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name}: "${v}" is not a positive number`);
	return n;
}
