import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/**
 * Node's arguments for a service process a test or benchmark spawns: tsx for its
 * TypeScript, and the preload that ends it once the process that spawned it is gone.
 */
export const SPAWNED_SERVICE_ARGS: readonly string[] = [
	"--import",
	"tsx",
	"--import",
	new URL("./exit-with-parent.ts", import.meta.url).href,
];

/**
 * Node arguments from SERVICE_NODE_ARGS (for example "--cpu-prof --cpu-prof-dir=/tmp/prof"),
 * given to every service a test or benchmark spawns, to profile them: NODE_OPTIONS
 * refuses --cpu-prof.
 */
export function serviceNodeArgs(): string[] {
	return (process.env.SERVICE_NODE_ARGS ?? "").split(" ").filter((arg) => arg !== "");
}

/** A service process started by a test, with its ports read from its logs. */
export interface ServiceProcess {
	child: ChildProcess;
	/** Port per service name, from the "gRPC server listening" lines. */
	ports: Map<string, number>;
	/** Every stdout line so far. */
	lines: string[];
	/** Resolves with the exit code once the process ends. */
	exited: Promise<number | null>;
}

/**
 * Spawns `node --import tsx <entry>` (one process, so its pid is the server's)
 * and waits until `expectedServices` services report their port.
 */
export async function spawnServiceProcess(
	entry: string,
	options: { env?: Record<string, string>; expectedServices: number; timeoutMs?: number },
): Promise<ServiceProcess> {
	const child = spawn(process.execPath, [...serviceNodeArgs(), ...SPAWNED_SERVICE_ARGS, entry], {
		// Small pools: test files run side by side against one PostgreSQL whose
		// connection limit (100 by default) a few full-size platforms would exhaust.
		env: { ...process.env, LOG_LEVEL: "info", DATABASE_POOL_SIZE: "4", ...options.env },
		stdio: ["ignore", "pipe", "pipe"],
	});
	const lines: string[] = [];
	const ports = new Map<string, number>();
	const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
	let stderr = "";
	child.stderr?.on("data", (data: Buffer) => {
		stderr += data.toString();
	});
	await new Promise<void>((resolve, reject) => {
		const timer = setTimeout(
			() => reject(new Error(`${entry} did not start in time; stderr: ${stderr}`)),
			options.timeoutMs ?? 30_000,
		);
		createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
			lines.push(line);
			try {
				const record = JSON.parse(line) as { msg?: string; port?: number; service?: string };
				if (record.msg === "gRPC server listening" && record.port !== undefined) {
					ports.set(record.service ?? String(ports.size), record.port);
					if (ports.size >= options.expectedServices) {
						clearTimeout(timer);
						resolve();
					}
				}
			} catch {
				// Not a JSON line; kept in `lines` all the same.
			}
		});
		void exited.then((code) => {
			clearTimeout(timer);
			reject(new Error(`${entry} exited with ${code} before starting; stderr: ${stderr}`));
		});
	});
	return { child, ports, lines, exited };
}

/** Runs a command to completion and returns its exit code and output. */
export function runToExit(
	command: string,
	args: string[],
	env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
	return new Promise((resolve) => {
		const child = spawn(command, args, {
			env: { ...process.env, ...env },
			stdio: ["ignore", "pipe", "pipe"],
		});
		let stdout = "";
		let stderr = "";
		child.stdout.on("data", (d: Buffer) => {
			stdout += d.toString();
		});
		child.stderr.on("data", (d: Buffer) => {
			stderr += d.toString();
		});
		child.once("exit", (code) => resolve({ code, stdout, stderr }));
	});
}
