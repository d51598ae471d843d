import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import type { ParsedArgs } from "../args.js";
import { UsageError } from "../args.js";
import { workerCommand } from "./worker-command.js";

/** The nearest folder at or above `from` that holds `relative`. */
function findUp(from: string, relative: string): string | undefined {
	let dir = path.resolve(from);
	for (;;) {
		if (existsSync(path.join(dir, relative))) return dir;
		const parent = path.dirname(dir);
		if (parent === dir) return undefined;
		dir = parent;
	}
}

/**
 * `taskmesh keys create|revoke ...`: API keys belong to the gateway, so this runs
 * the gateway's own key command of the taskmesh checkout (TASKMESH_HOME or the
 * nearest one above the current folder) with the same arguments.
 */
export async function keysCommand(argv: string[]): Promise<void> {
	const home = process.env.TASKMESH_HOME ?? findUp(process.cwd(), "gateway/src/cli/keys.ts");
	if (home === undefined || !existsSync(path.join(home, "gateway/src/cli/keys.ts"))) {
		throw new UsageError(
			"keys: no taskmesh gateway found; run inside a taskmesh checkout or set TASKMESH_HOME",
		);
	}
	const code = await new Promise<number | null>((resolve) => {
		spawn(process.execPath, ["--import", "tsx", path.join(home, "gateway/src/cli/keys.ts"), ...argv], {
			stdio: "inherit",
			cwd: home,
		}).once("exit", resolve);
	});
	if (code !== 0) process.exitCode = code ?? 1;
}

/**
 * `taskmesh dev <entry...>`: starts every service of the taskmesh checkout in one
 * process (its warnings shown as readable lines) and a development worker for the
 * project, until Ctrl-C.
 */
export async function devCommand(args: ParsedArgs): Promise<void> {
	if (args.positional.length === 0)
		throw new UsageError("dev: name the task file(s), e.g. taskmesh dev src/tasks.ts");
	const home = process.env.TASKMESH_HOME ?? findUp(process.cwd(), "services/main.ts");
	if (home === undefined)
		throw new UsageError(
			"dev: no taskmesh services found; run inside a taskmesh checkout or set TASKMESH_HOME",
		);
	const platform = spawn(process.execPath, ["--import", "tsx", path.join(home, "services/main.ts")], {
		cwd: home,
		env: { ...process.env, TASKMESH_ENV: "development" },
		stdio: ["ignore", "pipe", "inherit"],
	});
	await untilListening(platform, 5);
	process.env.TASKMESH_ENVIRONMENT ??= "dev";
	// A development worker takes every preset the project uses, whatever the host has,
	// but runs no more attempts at once than the host's cores can carry.
	process.env.TASKMESH_WORKER_CPU ??= "8";
	process.env.TASKMESH_WORKER_MEMORY_GB ??= "16";
	process.env.TASKMESH_WORKER_MAX_ATTEMPTS ??= String(os.availableParallelism() * 2);
	try {
		await workerCommand(args, true);
	} finally {
		platform.kill("SIGTERM");
	}
}

function untilListening(platform: ChildProcess, services: number): Promise<void> {
	return new Promise((resolve, reject) => {
		let up = 0;
		createInterface({ input: platform.stdout as NodeJS.ReadableStream }).on("line", (line) => {
			try {
				const r = JSON.parse(line) as { msg?: string; level?: number; service?: string; port?: number };
				if (r.msg === "gRPC server listening") {
					console.log(`platform  ${r.service} on :${r.port}`);
					if (++up === services) resolve();
				} else if ((r.level ?? 0) >= 40) {
					console.log(`platform  ${r.service ?? ""} ${r.level === 40 ? "WARN" : "ERROR"} ${r.msg ?? ""}`);
				}
			} catch {
				console.log(`platform  ${line}`);
			}
		});
		platform.once("exit", (code) => reject(new Error(`the platform exited with ${code} before it was up`)));
	});
}
