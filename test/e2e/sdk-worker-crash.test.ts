import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runs, tasks } from "../../sdk/src/index.js";
import { randomSuffix } from "../../services/kit/src/testing/stores.js";
import {
	configureDirect,
	startPlatform,
	startWorker,
	type TestPlatform,
	type WorkerProcess,
} from "./sdk-platform.js";

describe("SDK workers that die or stop mid-run", () => {
	let platform: TestPlatform;
	const workers: WorkerProcess[] = [];
	const env = `sdk-crash-${randomSuffix()}`;

	before(async () => {
		platform = await startPlatform(env);
		configureDirect(platform);
	});

	after(async () => {
		for (const w of workers)
			if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
		await Promise.all(workers.map((w) => w.exited));
		await platform?.stop();
	});

	test("a worker killed with SIGKILL mid-run loses nothing: every run completes on another worker", async () => {
		const a = await startWorker(platform.env, {}, ["--id", "worker-a"]);
		workers.push(a);
		const triggered = await Promise.all(
			Array.from({ length: 4 }, (_, i) => tasks.trigger("test.slow", { ms: 3000, marker: `m${i}` })),
		);
		const ids = triggered.map((t) => t.id);
		// Every run has started on worker A before it dies.
		for (const id of ids) await a.waitFor(new RegExp(`${id} test\\.slow +started attempt 1`));
		a.child.kill("SIGKILL");
		await a.exited;

		const b = await startWorker(platform.env, {}, ["--id", "worker-b"]);
		workers.push(b);
		const finals = await Promise.all(ids.map((id) => runs.poll(id)));
		for (const [i, run] of finals.entries()) {
			assert.equal(run.status, "COMPLETED", `${run.id}: ${run.error?.message}`);
			assert.deepEqual((run.output as { marker: string }).marker, `m${i}`);
			const detail = await runs.retrieve(run.id);
			assert.equal(detail.attempts[0]?.workerId, "worker-a");
			assert.notEqual(detail.attempts[0]?.status, "COMPLETED");
			assert.equal(detail.attempts.at(-1)?.workerId, "worker-b");
			assert.equal(detail.attempts.at(-1)?.status, "COMPLETED");
		}
		const completed = await runs.list({ taskId: "test.slow", status: "COMPLETED", limit: 100 });
		assert.equal(completed.runs.length, 4, "each run completed exactly once");
		b.child.kill("SIGTERM");
		assert.equal(await b.exited, 0);
	});

	test("SIGTERM lets a running attempt finish within the grace period and the worker exits 0", async () => {
		const c = await startWorker(platform.env, { TASKMESH_WORKER_GRACE_MS: "20000" }, ["--id", "worker-c"]);
		workers.push(c);
		const handle = await tasks.trigger("test.slow", { ms: 1500, marker: "graceful" });
		await c.waitFor(new RegExp(`${handle.id} test\\.slow +started`));
		c.child.kill("SIGTERM");
		assert.equal(await c.exited, 0);
		const run = await runs.retrieve(handle.id);
		assert.equal(run.status, "COMPLETED");
		assert.equal(run.attemptCount, 1);
	});

	test("SIGTERM gives back an attempt that outlives the grace period, and another worker runs it", async () => {
		const d = await startWorker(platform.env, { TASKMESH_WORKER_GRACE_MS: "300" }, ["--id", "worker-d"]);
		workers.push(d);
		const handle = await tasks.trigger("test.slow", { ms: 4000, marker: "handed-back" });
		await d.waitFor(new RegExp(`${handle.id} test\\.slow +started`));
		d.child.kill("SIGTERM");
		assert.equal(await d.exited, 0, d.lines.join("\n"));
		const e = await startWorker(platform.env, {}, ["--id", "worker-e"]);
		workers.push(e);
		const run = await runs.poll(handle.id);
		assert.equal(run.status, "COMPLETED");
		const detail = await runs.retrieve(handle.id);
		assert.equal(detail.attempts[0]?.error?.code, "WORKER_SHUTDOWN");
		assert.equal(detail.attempts.at(-1)?.workerId, "worker-e");
		e.child.kill("SIGTERM");
		assert.equal(await e.exited, 0);
	});

	test("a run whose worker stops while it waits is replayed by another worker with its resolved waits", async () => {
		const f = await startWorker(platform.env, {}, ["--id", "worker-f"]);
		workers.push(f);
		const slowRuns = async () => (await runs.list({ taskId: "test.slow", limit: 500 })).runs.length;
		const before = await slowRuns();
		const handle = await tasks.trigger("test.wait-then-finish", { marker: "replay-me" });
		await f.waitFor(new RegExp(`${handle.id} test\\.wait-then-finish +waiting for 2000 ms`));
		f.child.kill("SIGTERM");
		assert.equal(await f.exited, 0);
		const g = await startWorker(platform.env, {}, ["--id", "worker-g"]);
		workers.push(g);
		const run = await runs.poll(handle.id);
		assert.equal(run.status, "COMPLETED", run.error?.message);
		assert.deepEqual(run.output, { child: "replay-me", replayed: true });
		await g.waitFor(new RegExp(`${handle.id} test\\.wait-then-finish +replaying attempt 1`));
		assert.equal((await slowRuns()) - before, 1, "the replay did not trigger the child again");
		g.child.kill("SIGTERM");
		assert.equal(await g.exited, 0);
	});
});
