/**
 * The worker's Consume stream under trouble while an attempt runs: a rolling
 * restart of the queue replica it consumes from (the replica ends the stream at
 * once instead of waiting out its drain timeout, and keeps the delivery in
 * flight), and a cut connection (the worker held the started attempt's delivery,
 * so the queue does not give it back to be delivered again and free its
 * concurrency slot). Either way the worker carries on on a new stream.
 */
import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { QueueService } from "../../gen/taskmesh/queue/v1/queue_pb.js";
import { runs, tasks } from "../../sdk/src/index.js";
import { Worker } from "../../sdk/src/worker/worker.js";
import { testClient } from "../../services/kit/src/testing/grpc.js";
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
		env: {
			REDIS_URL: redisUrl,
			TASKMESH_QUEUE_PORT: String(port),
			QUEUE_REDIS_NAMESPACE: platform.queueNamespace,
		},
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

/** A development worker of the platform that consumes from the queue at this port, its lines kept. */
function workerConsumingFrom(queuePort: number, lines: string[]): Promise<Worker> {
	const base = directConfigOf(platform);
	return Worker.start({
		entries: TASK_FILES,
		config: { ...base, services: { ...base.services, queue: `http://127.0.0.1:${queuePort}` } },
		capacity: { cpu: 4, memoryGb: 8 },
		development: true,
		gracePeriodMs: 10_000,
		telemetryPeriodMs: 500,
		write: (line) => lines.push(line),
	});
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
	const end = Date.now() + ms;
	while (!check()) {
		if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}

test("a draining queue replica lets the worker go at once and keeps its running attempt's delivery", async () => {
	const a = await queueReplica();
	const lines: string[] = [];
	const worker = await workerConsumingFrom(a.port, lines);
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

/** A TCP proxy to the queue whose connections a test can cut, while it goes on accepting new ones. */
async function cuttableProxy(target: number): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
	const sockets = new Set<Socket>();
	const server: Server = createServer((inbound) => {
		const outbound = connect(target, "127.0.0.1");
		for (const s of [inbound, outbound]) {
			sockets.add(s);
			s.on("close", () => sockets.delete(s));
			s.on("error", () => undefined);
		}
		inbound.pipe(outbound).pipe(inbound);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		port: (server.address() as { port: number }).port,
		cut: () => {
			for (const s of sockets) s.destroy();
		},
		close: () =>
			new Promise((resolve) => {
				server.close(() => resolve());
				for (const s of sockets) s.destroy();
			}),
	};
}

test("a cut Consume stream does not give back a started attempt's delivery: no second delivery, the slot stays taken", async () => {
	const queuePort = Number(new URL(platform.urls.queue as string).port);
	const proxy = await cuttableProxy(queuePort);
	const base = directConfigOf(platform);
	const lines: string[] = [];
	const worker = await workerConsumingFrom(proxy.port, lines);
	const queue = testClient(QueueService, platform.urls.queue as string);
	const inFlight = async () =>
		(await queue.listQueues({ environmentId: base.environmentId })).queues.reduce(
			(n, q) => n + Number(q.stats?.inFlight ?? 0n),
			0,
		);
	try {
		const long = await tasks.trigger("test.slow", { ms: 4000, marker: "cut" });
		await until(() => lines.some((l) => /started attempt 1/.test(l)), "the attempt started");
		// The hold goes out right after the start; give it a moment to land.
		await new Promise((r) => setTimeout(r, 300));
		proxy.cut();
		await until(() => lines.some((l) => /consume stream ended; reopening/.test(l)), "the worker saw the cut");
		await new Promise((r) => setTimeout(r, 1_500));
		assert.equal(await inFlight(), 1, "the running attempt's delivery is still in flight, its slot taken");
		assert.equal((await runs.poll(long.id)).status, "COMPLETED");
		assert.equal((await runs.retrieve(long.id)).attempts.length, 1);
		assert.deepEqual(
			lines.filter((l) => /not started/.test(l)),
			[],
			"the delivery was never given back and offered again",
		);
	} finally {
		await worker.stop();
		await proxy.close();
	}
});
