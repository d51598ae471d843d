import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import {
	RunStatus,
	SchedulerService,
	type StreamRunCompletionsResponse,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { createRedisClient } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import {
	drainingServer,
	json,
	newEnvironment,
	type QueueProcess,
	type SchedulerHarness,
	schedulerSuite,
	startQueueProcess,
	startScheduler,
	TestWorker,
} from "../testing/scheduler-fixture.js";
import { schedulerServiceRegistration } from "./scheduler-service.js";

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

describe("batched triggers, completions feed, cron and the reconciler through gRPC", () => {
	let h: SchedulerHarness;

	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	test("TriggerRuns creates each batch index once, reports failures by index and returns cached items with their real status", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const runs = [
			{ taskId: "t", payload: json(0) },
			{ taskId: "missing", payload: json(1) },
			{ taskId: "t", payload: json(2), options: { tags: Array.from({ length: 11 }, (_, i) => `x${i}`) } },
			{ taskId: "t", payload: json(3) },
		];
		const first = await h.client.triggerRuns({
			environmentId: env,
			batchId: "batch_1",
			firstIndex: 10,
			runs,
		});
		assert.equal(first.runs.length, 2);
		assert.deepEqual(
			first.runs.map((r) => r.batchIndex),
			[10, 13],
		);
		assert.deepEqual(
			first.failures.map((f) => [f.index, f.code]),
			[
				[1, Code.NotFound],
				[2, Code.InvalidArgument],
			],
		);
		assert.match(first.failures[1]?.message ?? "", /runs\[2\]\.options\.tags/);
		const started = await worker.startNext();
		await worker.complete(started.attempt?.id ?? "", "done");
		// A restarted ingestion sends the same items again.
		const again = await h.client.triggerRuns({
			environmentId: env,
			batchId: "batch_1",
			firstIndex: 10,
			runs,
		});
		assert.deepEqual(
			again.runs.map((r) => r.id),
			first.runs.map((r) => r.id),
		);
		assert.ok(again.runs.every((r) => r.cached));
		const statuses = new Map(again.runs.map((r) => [r.id, r.status]));
		assert.equal(statuses.get(started.run?.id ?? ""), RunStatus.COMPLETED);
		assert.equal((await h.client.listRuns({ environmentId: env, batchId: "batch_1" })).runs.length, 2);
	});

	test("StreamRunCompletions yields each batch outcome once, in cursor order, and resumes after a cursor", async () => {
		const env = newEnvironment();
		const batchId = `batch_${env}`;
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const created = await h.client.triggerRuns({
			environmentId: env,
			batchId,
			runs: [{ taskId: "t" }, { taskId: "t" }, { taskId: "t" }],
		});
		const controller = new AbortController();
		const seen: StreamRunCompletionsResponse["completions"] = [];
		const reading = (async () => {
			try {
				for await (const m of h.client.streamRunCompletions({ batchId }, { signal: controller.signal })) {
					seen.push(...m.completions);
					if (seen.length >= 2) controller.abort();
				}
			} catch {
				// Aborted by the test once it saw enough.
			}
		})();
		const s1 = await worker.startNext();
		await worker.complete(s1.attempt?.id ?? "", 1);
		const other = created.runs.find((r) => r.id !== s1.run?.id);
		await h.client.cancelRun({ environmentId: env, runId: other?.id ?? "" });
		await reading;
		assert.equal(seen.length, 2);
		assert.ok((seen[0]?.cursor ?? 0n) < (seen[1]?.cursor ?? 0n));
		assert.deepEqual(new Set(seen.map((c) => c.status)), new Set([RunStatus.COMPLETED, RunStatus.CANCELED]));
		// The canceled run's message is still queued; its delivery is refused and dropped.
		let s2 = await worker.startNext().catch(() => undefined);
		s2 ??= await worker.startNext();
		await worker.fail(s2.attempt?.id ?? "", false);
		const resumed = new AbortController();
		let next: StreamRunCompletionsResponse | undefined;
		for await (const m of h.client.streamRunCompletions(
			{ batchId, afterCursor: seen[1]?.cursor ?? 0n },
			{ signal: resumed.signal },
		)) {
			next = m;
			break;
		}
		assert.deepEqual(
			next?.completions.map((c) => [c.runId, c.status]),
			[[s2.run?.id, RunStatus.FAILED]],
		);
	});

	test("StreamRunCompletions yields an outcome committed late with a smaller cursor, once, and never repeats one", async () => {
		const server = await startTestServer([
			schedulerServiceRegistration({ engine: h.engine, streamPollMs: 20 }),
		]);
		const client = testClient(SchedulerService, server.url);
		const env = newEnvironment();
		const batchId = `batch_${env}`;
		const insert = (
			db: { query: (text: string, values: unknown[]) => Promise<unknown> },
			runId: string,
			index: number,
		) =>
			db.query(
				`INSERT INTO run_completions (run_id, environment_id, batch_id, batch_index, status, completed_at)
				 VALUES ($1, $2, $3, $4, 'COMPLETED', now())`,
				[runId, env, batchId, index],
			);
		const seen: string[] = [];
		const controller = new AbortController();
		const arrived = async (count: number) => {
			const deadline = Date.now() + 5_000;
			while (seen.length < count) {
				assert.ok(Date.now() < deadline, `only ${JSON.stringify(seen)} arrived of ${count} outcomes`);
				await new Promise((resolve) => setTimeout(resolve, 10));
			}
		};
		const reading = (async () => {
			try {
				for await (const m of client.streamRunCompletions({ batchId }, { signal: controller.signal }))
					seen.push(...m.completions.map((c) => c.runId));
			} catch {
				// Aborted at the end of the test.
			}
		})();
		try {
			// "late" takes its cursor first but commits after "early" is read.
			const late = await h.schema.pool.connect();
			try {
				await late.query("BEGIN");
				await insert(late, "run_late", 0);
				await insert(h.schema.pool, "run_early", 1);
				await arrived(1);
				await late.query("COMMIT");
			} finally {
				late.release();
			}
			await arrived(2);
			await insert(h.schema.pool, "run_after", 2);
			await arrived(3);
			// Several more polls: nothing read before may come again.
			await new Promise((resolve) => setTimeout(resolve, 200));
			assert.deepEqual(seen, ["run_early", "run_late", "run_after"]);
		} finally {
			controller.abort();
			await reading;
			await server.drain();
		}
	});

	test("a draining scheduler ends StreamRunCompletions cleanly instead of holding the drain open", async () => {
		const draining = await drainingServer(h);
		let pages = 0;
		const reading = (async () => {
			for await (const _ of draining.client.streamRunCompletions({ batchId: `batch_${newEnvironment()}` }))
				pages += 1;
		})();
		// The stream is open once the server counts it.
		while (draining.server.callsInFlight === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		await draining.drainPromptly(() => reading); // ends without an error
		assert.equal(pages, 0);
	});

	test("two scheduler replicas fire each cron tick once, and missed ticks after downtime fire once, not in a burst", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "cron-task" }]);
		const start = new Date("2031-01-01T00:00:30Z").getTime();
		h.clock.set(start);
		const created = await h.client.createSchedule({
			environmentId: env,
			taskId: "cron-task",
			cron: "* * * * *",
			timezone: "Europe/Paris",
			deduplicationKey: "every-minute",
			externalId: "user-1",
		});
		assert.equal(created.schedule?.nextRunAt?.seconds, BigInt(start / 1000 + 30));
		const dup = await h.client.createSchedule({
			environmentId: env,
			taskId: "cron-task",
			cron: "* * * * *",
			deduplicationKey: "every-minute",
		});
		assert.equal(dup.schedule?.id, created.schedule?.id);
		const a = h.replica();
		const b = h.replica();
		for (let minute = 1; minute <= 3; minute++) {
			h.clock.set(start + minute * 60_000);
			const fired = await Promise.all([a.cron.tick(), b.cron.tick(), a.cron.tick()]);
			assert.equal(fired.flat().length, 1, `minute ${minute}`);
		}
		assert.ok(a.cron.leader !== b.cron.leader, "exactly one replica holds the lease");
		// Downtime: ten minutes pass without a tick; one catch-up run follows, then the schedule moves on.
		h.clock.set(start + 13 * 60_000);
		const afterDowntime = await Promise.all([a.cron.tick(), b.cron.tick()]);
		assert.equal(afterDowntime.flat().length, 1);
		assert.equal((await Promise.all([a.cron.tick(), b.cron.tick()])).flat().length, 0);
		const runs = await h.client.listRuns({ environmentId: env });
		assert.equal(runs.runs.length, 4);
		assert.ok(runs.runs.every((r) => r.scheduleId === created.schedule?.id));
		const payload = JSON.parse(
			new TextDecoder().decode(
				(await h.client.getRun({ environmentId: env, runId: runs.runs[0]?.id ?? "" })).run?.payload,
			),
		);
		assert.equal(payload.externalId, "user-1");
		const off = await h.client.deactivateSchedule({
			environmentId: env,
			scheduleId: created.schedule?.id ?? "",
		});
		assert.equal(off.schedule?.active, false);
		h.clock.advance(120_000);
		assert.equal((await Promise.all([a.cron.tick(), b.cron.tick()])).flat().length, 0);
		const updated = await h.client.updateSchedule({
			environmentId: env,
			scheduleId: created.schedule?.id ?? "",
			cron: "0 9 * * 1",
		});
		assert.equal(updated.schedule?.cron, "0 9 * * 1");
		const on = await h.client.activateSchedule({
			environmentId: env,
			scheduleId: created.schedule?.id ?? "",
		});
		assert.equal(on.schedule?.active, true);
		await h.client.deleteSchedule({ environmentId: env, scheduleId: created.schedule?.id ?? "" });
		assert.equal((await h.client.listSchedules({ environmentId: env })).schedules.length, 0);
		h.clock.set(Date.now());
	});

	describe("with a private Redis", () => {
		let redis: ChildProcess;
		let port: number;
		let privateQueue: QueueProcess;
		let p: SchedulerHarness;

		before(async () => {
			port = await freePort();
			redis = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
				stdio: "ignore",
			});
			const probe = createRedisClient({ url: `redis://127.0.0.1:${port}` });
			// Refused connections are expected until the server listens.
			probe.on("error", () => {});
			for (let i = 0; i < 100; i++) {
				try {
					await probe.ping();
					break;
				} catch {
					await new Promise((r) => setTimeout(r, 50));
				}
			}
			await probe.quit();
			privateQueue = await startQueueProcess(`redis://127.0.0.1:${port}`);
			p = await startScheduler(privateQueue.url, { SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" });
		});
		after(async () => {
			await p.close();
			await privateQueue.stop();
			redis.kill("SIGTERM");
			await new Promise((r) => redis.once("exit", r));
		});

		test("the reconciler enqueues QUEUED runs again after Redis lost everything (FLUSHALL)", async () => {
			const env = newEnvironment();
			const worker = await TestWorker.register(p, env, [{ id: "t" }]);
			const triggered = await Promise.all(
				[1, 2, 3].map((i) => p.client.triggerRun({ environmentId: env, taskId: "t", payload: json(i) })),
			);
			const admin = createRedisClient({ url: `redis://127.0.0.1:${port}` });
			await admin.flushall();
			await admin.quit();
			assert.equal((await worker.take(3)).length, 0, "the queue lost the messages");
			assert.equal(await p.engine.maintenance.reconcile(0), 3);
			const ids = new Set<string>();
			for (let i = 0; i < 3; i++) {
				const s = await worker.startNext();
				ids.add(s.run?.id ?? "");
				await worker.complete(s.attempt?.id ?? "", i);
			}
			assert.deepEqual(ids, new Set(triggered.map((t) => t.run?.id ?? "")));
			assert.equal(await p.engine.maintenance.reconcile(0), 0, "nothing QUEUED is left");
		});
	});
});
