import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SPAWNED_SERVICE_ARGS, serviceNodeArgs } from "../../../kit/src/testing/process.js";

/** A log-ingest service running in a process of its own, as `npm run start:log-ingest` runs it. */
export interface ChildService {
	url: string;
	pid: number;
	/** Resident and peak resident memory in bytes, from /proc. */
	memory(): { rss: number; peak: number };
	/** Resets the peak so the next reading covers only what follows. */
	resetPeak(): void;
	stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL("../main.ts", import.meta.url));

/**
 * Spawns the service main with node (one process, so its pid is the service's)
 * on a free port over the given schema, and waits for its "listening" log line.
 * nodeArgs go to node itself, after those of SERVICE_NODE_ARGS (the kit's serviceNodeArgs).
 */
export async function spawnService(
	env: Record<string, string>,
	nodeArgs: string[] = [],
): Promise<ChildService> {
	const args = [...serviceNodeArgs(), ...nodeArgs, ...SPAWNED_SERVICE_ARGS, MAIN];
	const child: ChildProcess = spawn(process.execPath, args, {
		env: {
			...process.env,
			TASKMESH_HOST: "127.0.0.1",
			TASKMESH_LOG_INGEST_PORT: "0",
			OTEL_ENABLED: "false",
			LOG_LEVEL: "info",
			...env,
		},
		stdio: ["ignore", "pipe", "inherit"],
	});
	const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
	const port = await new Promise<number>((resolve, reject) => {
		child.once("exit", (code) => reject(new Error(`log-ingest exited with status ${code} before listening`)));
		lines.on("line", (line) => {
			try {
				const entry = JSON.parse(line) as { msg?: string; port?: number };
				if (entry.msg === "gRPC server listening" && entry.port !== undefined) resolve(entry.port);
			} catch {
				// Not a log line of ours.
			}
		});
	});
	const pid = child.pid as number;
	const status = () => readFileSync(`/proc/${pid}/status`, "utf8");
	const kib = (text: string, field: string) =>
		Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1]) * 1024;
	return {
		url: `http://127.0.0.1:${port}`,
		pid,
		memory() {
			const text = status();
			return { rss: kib(text, "VmRSS"), peak: kib(text, "VmHWM") };
		},
		resetPeak() {
			// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
			writeFileSync(`/proc/${pid}/clear_refs`, "5");
		},
		stop() {
			return new Promise<void>((resolve) => {
				if (child.exitCode !== null) return resolve();
				child.once("exit", () => resolve());
				child.kill("SIGTERM");
			});
		},
	};
}
