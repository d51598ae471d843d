/**
 * A rolling restart of the queue under a working SDK worker: the replica the
 * worker consumes from drains while an attempt runs. It ends the worker's stream
 * at once instead of waiting out its drain timeout, keeps the running attempt's
 * delivery in flight (not given back to be delivered again), and the worker
 * carries on through the replica that replaces it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { runs, tasks } from "../../sdk/src/index.js";
import { Worker } from "../../sdk/src/worker/worker.js";
import { type ServiceProcess, spawnServiceProcess } from "../../services/kit/src/testing/process.js";
import { randomSuffix, testStores } from "../../services/kit/src/testing/stores.js";
import {
	configureDirect,
	directConfigOf,
	startPlatform,
	TASK_FILES,
	type TestPlatform,
} from "./sdk-platform.js";

let platform: TestPlatform;
const replicas: ServiceProcess[] = [];

/** A queue service of its own over the platform's Redis: another replica of the platform's queue. */
async function queueReplica(port = 0): Promise<{ proc: ServiceProcess; port: number }> {
	const { redisUrl } = await testStores();
	const proc = await spawnServiceProcess("services/queue/src/main.ts", {
		env: { REDIS_URL: redisUrl, TASKMESH_QUEUE_PORT: String(port) },
		expectedServices: 1,
	});
	replicas.push(proc);
	return { proc, port: [...proc.ports.values()][0] as number };
}

before(async () => {
	platform = await startPlatform(`queue-drain-${randomSuffix()}`);
	configureDirect(platform);
});

after(async () => {
	for (const r of replicas) {
		r.child.kill("SIGTERM");
		await r.exited;
	}
	await platform?.stop();
});

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

test("a draining queue replica lets the worker go at once and keeps its running attempt's delivery", async () => {
	const a = await queueReplica();
	const base = directConfigOf(platform);
	const lines: string[] = [];
	const worker = await Worker.start({
		entries: TASK_FILES,
		config: { ...base, services: { ...base.services, queue: `http://127.0.0.1:${a.port}` } },
		capacity: { cpu: 4, memoryGb: 8 },
		development: true,
		gracePeriodMs: 10_000,
		telemetryPeriodMs: 500,
		write: (line) => lines.push(line),
	});
	try {
		const long = await tasks.trigger("test.slow", { ms: 4000, marker: "long" });
		await until(() => lines.some((l) => /started attempt 1/.test(l)), "the attempt started");

		const drainBegan = Date.now();
		a.proc.child.kill("SIGTERM");
		await a.proc.exited;
		const drainMs = Date.now() - drainBegan;
		// The default drain timeout is 25 s; an open Consume stream used to hold it that long.
		assert.ok(drainMs < 5_000, `the replica took ${drainMs} ms to drain`);
		await queueReplica(a.port);

		assert.equal((await runs.poll(long.id)).status, "COMPLETED");
		const run = await runs.retrieve(long.id);
		assert.equal(run.attempts.length, 1, "one attempt: the delivery was not given back and run again");
		assert.ok(
			lines.some((l) => /ended by the queue \(draining\)/.test(l)),
			`the worker saw the drain:\n${lines.join("\n")}`,
		);
		assert.equal(lines.filter((l) => /started attempt/.test(l)).length, 1, lines.join("\n"));
		// The worker consumes from the replica that took over.
		const next = await tasks.trigger("test.slow", { ms: 50, marker: "after" });
		assert.equal((await runs.poll(next.id)).status, "COMPLETED");
	} finally {
		await worker.stop();
	}
});
