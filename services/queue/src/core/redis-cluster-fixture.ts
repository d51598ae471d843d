import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A Redis Cluster of three masters on loopback ports, started by a test. */
export interface TestRedisCluster {
	nodes: Array<{ host: string; port: number }>;
	stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const server = createServer();
		server.once("error", () => resolve(false));
		server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
	});
}

/** Three ports whose cluster bus ports (port + 10000) are free too. */
async function freePorts(count: number): Promise<number[]> {
	const ports: number[] = [];
	while (ports.length < count) {
		const port = 20_000 + Math.floor(Math.random() * 20_000);
		if (ports.includes(port)) continue;
		if ((await portFree(port)) && (await portFree(port + 10_000))) ports.push(port);
	}
	return ports;
}

/**
 * Starts three redis-server processes with cluster mode on, joins them with
 * `redis-cli --cluster create`, and waits until every node reports
 * cluster_state:ok. stop() shuts them down and removes their directory; call
 * it in `after` even when start-up failed half-way.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
	const dir = await mkdtemp(join(tmpdir(), "taskmesh-cluster-"));
	const ports = await freePorts(3);
	const started: number[] = [];
	const stop = async () => {
		await Promise.allSettled(
			started.map((port) =>
				run("redis-cli", ["-p", String(port), "shutdown", "nosave"], { timeout: 10_000 }),
			),
		);
		await rm(dir, { recursive: true, force: true });
	};
	try {
		for (const port of ports) {
			await run("redis-server", [
				"--port",
				String(port),
				"--bind",
				"127.0.0.1",
				"--cluster-enabled",
				"yes",
				"--cluster-config-file",
				`nodes-${port}.conf`,
				"--save",
				"",
				"--appendonly",
				"no",
				"--daemonize",
				"yes",
				"--dir",
				dir,
				"--logfile",
				join(dir, `redis-${port}.log`),
			]);
			started.push(port);
		}
		for (const port of ports) await waitFor(port, "PING", "PONG");
		await run(
			"redis-cli",
			[
				"--cluster",
				"create",
				...ports.map((p) => `127.0.0.1:${p}`),
				"--cluster-replicas",
				"0",
				"--cluster-yes",
			],
			{ timeout: 60_000 },
		);
		for (const port of ports) await waitFor(port, "CLUSTER INFO", "cluster_state:ok");
		return { nodes: ports.map((port) => ({ host: "127.0.0.1", port })), stop };
	} catch (error) {
		await stop();
		throw error;
	}
}

async function waitFor(port: number, command: string, expected: string): Promise<void> {
	for (let attempt = 0; attempt < 200; attempt++) {
		try {
			const { stdout } = await run("redis-cli", ["-p", String(port), ...command.split(" ")], {
				timeout: 5_000,
			});
			if (stdout.includes(expected)) return;
		} catch {
			// Not up yet.
		}
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`redis node on port ${port} never answered ${command} with ${expected}`);
}
