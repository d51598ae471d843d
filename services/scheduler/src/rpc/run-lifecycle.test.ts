import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	AttemptStatus,
	RunStatus,
	type TaskDefinitionSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	drainingServer,
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

describe("run lifecycle through gRPC", () => {
	let h: SchedulerHarness;

	schedulerSuite(
		{
			SCHEDULER_MAX_PAYLOAD_BYTES: "1024",
			SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000",
		},
		(started) => {
			h = started;
		},
	);

	async function setup(task = "t") {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: task }]);
		return { env, worker };
	}

	test("a triggered run is queued, executes on a worker and completes with its output", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({ n: 1 }) });
		assert.equal(run?.status, RunStatus.QUEUED);
		assert.equal(run?.machine?.name, "small-1x");
		assert.equal(run?.options?.queue, "task/t");
		const started = await worker.startNext();
		assert.equal(started.run?.status, RunStatus.EXECUTING);
		assert.equal(started.attempt?.number, 1);
		assert.deepEqual(JSON.parse(new TextDecoder().decode(started.run?.payload)), { n: 1 });
		const done = await worker.complete(started.attempt?.id ?? "", { ok: true });
		assert.equal(done.run?.status, RunStatus.COMPLETED);
		const got = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(got.run?.attempts.length, 1);
		assert.deepEqual(JSON.parse(new TextDecoder().decode(got.run?.output)), { ok: true });
		// Settlements leave after the response; poll the queue's stats until the acknowledgement shows.
		let inFlight = 1n;
		for (let i = 0; i < 200 && inFlight !== 0n; i++) {
			const q = await h.queue.getQueue({ environmentId: env, queue: "task/t" });
			inFlight = q.queue?.stats?.inFlight ?? 1n;
		}
		assert.equal(inFlight, 0n, "the scheduler acknowledged the delivery");
	});

	test("a retryable failure waits min × factor^(n−1) before the next attempt, then the run fails after max attempts", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const runId = run?.id ?? "";
		const waits: number[] = [];
		for (let attempt = 1; attempt <= 3; attempt++) {
			const started = await worker.startNext();
			assert.equal(started.attempt?.number, attempt);
			const failed = await worker.fail(started.attempt?.id ?? "", true);
			if (attempt === 3) {
				assert.equal(failed.run?.status, RunStatus.FAILED);
				assert.equal(failed.retryAt, undefined);
				break;
			}
			assert.equal(failed.run?.status, RunStatus.REATTEMPTING);
			const retryAtMs =
				Number(failed.retryAt?.seconds) * 1000 + Math.round((failed.retryAt?.nanos ?? 0) / 1e6);
			const delay = retryAtMs - h.clock.now();
			waits.push(delay);
			h.clock.advance(delay - 1);
			await h.engine.maintenance.runOnce();
			assert.equal(
				(await h.client.getRun({ environmentId: env, runId })).run?.status,
				RunStatus.REATTEMPTING,
			);
			h.clock.advance(1);
			await h.engine.maintenance.runOnce();
			assert.equal((await h.client.getRun({ environmentId: env, runId })).run?.status, RunStatus.QUEUED);
		}
		assert.deepEqual(waits, [1_000, 2_000]);
		const got = await h.client.getRun({ environmentId: env, runId });
		assert.equal(got.run?.attemptCount, 3);
		assert.equal(got.run?.error?.message, "boom");
		assert.deepEqual(
			got.run?.attempts.map((a) => [a.number, a.status, a.error?.message]),
			[1, 2, 3].map((n) => [n, AttemptStatus.FAILED, "boom"]),
		);
	});

	test("a randomized retry waits r × min × factor^(n−1) with r in [1, 2), capped at max", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: {
				retry: {
					maxAttempts: 4,
					factor: 3,
					minTimeout: durationFromMs(1_000),
					maxTimeout: durationFromMs(5_000),
					randomize: true,
				},
			},
		});
		const runId = run?.id ?? "";
		const waits: number[] = [];
		for (let attempt = 1; attempt <= 3; attempt++) {
			const started = await worker.startNext();
			const failed = await worker.fail(started.attempt?.id ?? "", true);
			assert.equal(failed.run?.status, RunStatus.REATTEMPTING);
			const retryAtMs =
				Number(failed.retryAt?.seconds) * 1000 + Math.round((failed.retryAt?.nanos ?? 0) / 1e6);
			const delay = retryAtMs - h.clock.now();
			waits.push(delay);
			h.clock.advance(delay);
			await h.engine.maintenance.runOnce();
			assert.equal((await h.client.getRun({ environmentId: env, runId })).run?.status, RunStatus.QUEUED);
		}
		const [first, second, third] = waits as [number, number, number];
		assert.ok(first >= 1_000 && first < 2_000, `first delay ${first}`);
		assert.ok(second >= 3_000 && second <= 5_000, `second delay ${second}`);
		assert.equal(third, 5_000, "9 s or more is capped at the 5 s maximum");
		assert.ok(Number.isInteger(first) && Number.isInteger(second), "delays are whole milliseconds");
		assert.ok(first > 1_000 || second > 3_000, "r is drawn, not 1");
	});

	test("a failure that is not retryable fails the run at once", async () => {
		const { env, worker } = await setup();
		await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const failed = await worker.fail(started.attempt?.id ?? "", false);
		assert.equal(failed.run?.status, RunStatus.FAILED);
		assert.equal(failed.run?.attemptCount, 1);
	});

	test("concurrent triggers with one idempotency key make one run and the rest are cached", async () => {
		const { env } = await setup();
		const results = await Promise.all(
			Array.from({ length: 6 }, () =>
				h.client.triggerRun({
					environmentId: env,
					taskId: "t",
					payload: json({}),
					options: { idempotencyKey: "k1" },
				}),
			),
		);
		const ids = new Set(results.map((r) => r.run?.id));
		assert.equal(ids.size, 1);
		assert.equal(results.filter((r) => r.run?.cached === false).length, 1);
		const list = await h.client.listRuns({ environmentId: env });
		assert.equal(list.runs.length, 1);
	});

	test("triggers arriving together share a statement, yet each gets its own run or its own refusal", async () => {
		const a = await setup();
		const b = await setup();
		const trigger = (environmentId: string, taskId: string, idempotencyKey = "") =>
			h.client.triggerRun({ environmentId, taskId, payload: json({ taskId }), options: { idempotencyKey } });
		// One event-loop turn of the scheduler receives all of them: two environments,
		// an unknown task, and a key PostgreSQL refuses (a NUL character), which fails
		// the batch's statement: every other trigger must still get its run.
		const results = await Promise.allSettled([
			trigger(a.env, "t"),
			trigger(b.env, "t"),
			trigger(a.env, "unknown"),
			trigger(a.env, "t", "bad\u0000key"),
			trigger(a.env, "t", "k"),
			trigger(a.env, "t", "k"),
			trigger(b.env, "t"),
		]);
		const ok = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.run] : []));
		const failed = results.flatMap((r, i) =>
			r.status === "rejected" ? [[i, ConnectError.from(r.reason)]] : [],
		);
		assert.equal(ok.length, 5);
		assert.deepEqual(
			failed.map(([i]) => i),
			[2, 3],
		);
		assert.equal((failed[0]?.[1] as ConnectError).code, Code.NotFound);
		const keyed = [results[4], results[5]].map((r) => (r?.status === "fulfilled" ? r.value.run : undefined));
		assert.equal(keyed[0]?.id, keyed[1]?.id, "one run for the key");
		assert.deepEqual(keyed.map((r) => r?.cached).sort(), [false, true]);
		const listA = await h.client.listRuns({ environmentId: a.env });
		const listB = await h.client.listRuns({ environmentId: b.env });
		assert.equal(listA.runs.length, 2);
		assert.equal(listB.runs.length, 2);
		// One environment's triggers are one autocommit insert: the refused one still fails alone.
		const single = await Promise.allSettled([
			trigger(b.env, "t"),
			trigger(b.env, "t", "\u0000"),
			trigger(b.env, "t"),
		]);
		assert.deepEqual(
			single.map((r) => r.status),
			["fulfilled", "rejected", "fulfilled"],
		);
		assert.equal((await h.client.listRuns({ environmentId: b.env })).runs.length, 4);
		for (const run of ok) {
			const stored = await h.client.getRun({ environmentId: run?.environmentId ?? "", runId: run?.id ?? "" });
			assert.equal(stored.run?.status, RunStatus.QUEUED);
			assert.equal(stored.run?.createdAt?.seconds, run?.createdAt?.seconds);
		}
	});

	test("a key whose run failed returns that failed run; a canceled or expired run releases its key", async () => {
		const { env, worker } = await setup();
		const first = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "f" },
		});
		const started = await worker.startNext();
		await worker.fail(started.attempt?.id ?? "", false);
		const again = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "f" },
		});
		assert.equal(again.run?.id, first.run?.id);
		assert.equal(again.run?.cached, true);
		assert.equal(again.run?.status, RunStatus.FAILED);

		const canceled = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "c" },
		});
		await h.client.cancelRun({ environmentId: env, runId: canceled.run?.id ?? "" });
		const fresh = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "c" },
		});
		assert.notEqual(fresh.run?.id, canceled.run?.id);
		assert.equal(fresh.run?.cached, false);

		const expiring = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "e", ttl: durationFromMs(1_000) },
		});
		h.clock.advance(1_000);
		await h.engine.maintenance.runOnce();
		const afterExpiry = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "e" },
		});
		assert.notEqual(afterExpiry.run?.id, expiring.run?.id);
	});

	test("an idempotency key past its ttl no longer returns the first run", async () => {
		const { env } = await setup();
		const options = { idempotencyKey: "short", idempotencyKeyTtl: durationFromMs(5_000) };
		const first = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}), options });
		h.clock.advance(5_000);
		const second = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}), options });
		assert.notEqual(second.run?.id, first.run?.id);
	});

	test("a delayed run stays DELAYED until its delay passes, then it is queued", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { delay: durationFromMs(60_000) },
		});
		assert.equal(run?.status, RunStatus.DELAYED);
		h.clock.advance(59_999);
		await h.engine.maintenance.runOnce();
		assert.equal(
			(await h.client.getRun({ environmentId: env, runId: run?.id ?? "" })).run?.status,
			RunStatus.DELAYED,
		);
		h.clock.advance(1);
		await h.engine.maintenance.runOnce();
		const started = await worker.startNext();
		assert.equal(started.run?.id, run?.id);
	});

	test("a run not started within its ttl expires and its delivery is refused", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { ttl: durationFromMs(10_000) },
		});
		h.clock.advance(10_000);
		await h.engine.maintenance.runOnce();
		assert.equal(
			(await h.client.getRun({ environmentId: env, runId: run?.id ?? "" })).run?.status,
			RunStatus.EXPIRED,
		);
		await assert.rejects(
			worker.startNext(),
			(e: unknown) => ConnectError.from(e).code === Code.FailedPrecondition,
		);
	});

	test("an attempt past its max duration is TIMED_OUT and the worker is told to stop it", async () => {
		const { env, worker } = await setup();
		await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { maxDuration: durationFromMs(30_000) },
		});
		const started = await worker.startNext();
		h.clock.advance(30_000);
		await h.engine.maintenance.runOnce();
		const got = await h.client.getRun({ environmentId: env, runId: started.run?.id ?? "" });
		assert.equal(got.run?.status, RunStatus.TIMED_OUT);
		assert.equal(got.run?.attempts[0]?.status, 6 /* ATTEMPT_STATUS_TIMED_OUT */);
		const hb = await h.client.heartbeatWorker({
			workerId: worker.id,
			attemptIds: [started.attempt?.id ?? ""],
		});
		assert.deepEqual(hb.stopAttemptIds, [started.attempt?.id]);
		await assert.rejects(
			worker.complete(started.attempt?.id ?? "", {}),
			(e: unknown) => ConnectError.from(e).code === Code.FailedPrecondition,
		);
	});

	test("a parent run of another environment is not found, with or without a wait, and nothing is created", async () => {
		const a = await setup();
		const b = await setup();
		const parent = await h.client.triggerRun({ environmentId: a.env, taskId: "t", payload: json({}) });
		const started = await a.worker.startNext();
		for (const wait of [false, true]) {
			await assert.rejects(
				h.client.triggerRun({
					environmentId: b.env,
					taskId: "t",
					payload: json({}),
					parent: { runId: parent.run?.id ?? "", attemptId: started.attempt?.id ?? "", wait },
				}),
				(e: unknown) => ConnectError.from(e).code === Code.NotFound,
			);
		}
		const listed = await h.client.listRuns({ environmentId: b.env });
		assert.equal(listed.runs.length, 0);
		const still = await h.client.getRun({ environmentId: a.env, runId: parent.run?.id ?? "" });
		assert.equal(still.run?.status, RunStatus.EXECUTING);
	});

	test("cancel with children cancels the live tree; replay runs the same payload again, linked", async () => {
		const { env, worker } = await setup();
		const parent = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({ p: 1 }),
			options: { tags: ["a"] },
		});
		const started = await worker.startNext();
		const child = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			parent: { runId: parent.run?.id ?? "", attemptId: started.attempt?.id ?? "" },
		});
		assert.equal(child.run?.rootRunId, parent.run?.id);
		const canceled = await h.client.cancelRun({
			environmentId: env,
			runId: parent.run?.id ?? "",
			cancelChildren: true,
		});
		assert.deepEqual(new Set(canceled.canceledRunIds), new Set([parent.run?.id, child.run?.id]));
		assert.equal(canceled.run?.status, RunStatus.CANCELED);
		const replay = await h.client.replayRun({ environmentId: env, runId: parent.run?.id ?? "" });
		assert.equal(replay.run?.replayOfRunId, parent.run?.id);
		assert.deepEqual(replay.run?.options?.tags, ["a"]);
		assert.deepEqual(JSON.parse(new TextDecoder().decode(replay.run?.payload)), { p: 1 });
		assert.equal(replay.run?.status, RunStatus.QUEUED);
	});

	test("a task error holding NUL characters is kept with each one replaced, and its run ends", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		// A buffer turned into text; PostgreSQL's jsonb refused it and the run never ended.
		const failed = await worker.fail(started.attempt?.id ?? "", false, "bad byte \u0000 in \u0000 input");
		assert.equal(failed.run?.status, RunStatus.FAILED);
		const got = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(got.run?.error?.message, "bad byte \uFFFD in \uFFFD input");
	});

	test("ListRuns shows each run without its payload or output, and with everything else", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const payload = json({ to: "a@example.com" });
		for (const n of [1, 2])
			await h.client.triggerRun({ environmentId: env, taskId: "t", payload, options: { tags: [`n${n}`] } });
		const first = await worker.startNext();
		await worker.complete(first.attempt?.id ?? "", { sent: true });
		const second = await worker.startNext();
		await worker.fail(second.attempt?.id ?? "", false, "card declined");
		const { runs } = await h.client.listRuns({ environmentId: env });
		const shown = (id: string | undefined) => {
			const r = runs.find((run) => run.id === id);
			return [
				r?.status,
				r?.taskId,
				r?.options?.tags,
				r?.payload.byteLength,
				r?.output.byteLength,
				r?.error?.message,
			];
		};
		assert.equal(runs.length, 2);
		assert.deepEqual(shown(first.run?.id), [
			RunStatus.COMPLETED,
			"t",
			first.run?.options?.tags,
			0,
			0,
			undefined,
		]);
		assert.deepEqual(shown(second.run?.id), [
			RunStatus.FAILED,
			"t",
			second.run?.options?.tags,
			0,
			0,
			"card declined",
		]);
		const got = await h.client.getRun({ environmentId: env, runId: first.run?.id ?? "" });
		assert.deepEqual([got.run?.payload, got.run?.output], [payload, json({ sent: true })]);
	});

	test("ListRuns filters by status, task, tag and queue and pages with a cursor", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "a" }, { id: "b" }]);
		for (let i = 0; i < 5; i++) {
			await h.client.triggerRun({
				environmentId: env,
				taskId: i % 2 === 0 ? "a" : "b",
				payload: json({ i }),
				options: { tags: [`n${i}`] },
			});
		}
		const byTask = await h.client.listRuns({ environmentId: env, taskIds: ["a"] });
		assert.equal(byTask.runs.length, 3);
		const byTag = await h.client.listRuns({ environmentId: env, tags: ["n1", "n3"] });
		assert.equal(byTag.runs.length, 2);
		const byQueue = await h.client.listRuns({
			environmentId: env,
			queues: ["task/b"],
			statuses: [RunStatus.QUEUED],
		});
		assert.equal(byQueue.runs.length, 2);
		const first = await h.client.listRuns({ environmentId: env, pageSize: 2 });
		const second = await h.client.listRuns({
			environmentId: env,
			pageSize: 2,
			pageToken: first.nextPageToken,
		});
		const third = await h.client.listRuns({
			environmentId: env,
			pageSize: 2,
			pageToken: second.nextPageToken,
		});
		const all = [...first.runs, ...second.runs, ...third.runs].map((r) => r.id);
		assert.equal(new Set(all).size, 5);
		assert.equal(third.nextPageToken, "");
		assert.ok((all[0] ?? "") > (all[4] ?? ""), "newest first");
	});

	test("WaitForRun streams each status change and ends at the final one", async () => {
		const { env, worker } = await setup();
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const seen: RunStatus[] = [];
		const stream = (async () => {
			for await (const m of h.client.waitForRun({ environmentId: env, runId: run?.id ?? "" })) {
				seen.push(m.run?.status ?? RunStatus.UNSPECIFIED);
				if (seen.length === 1) {
					const started = await worker.startNext();
					await worker.complete(started.attempt?.id ?? "", 1);
				}
			}
		})();
		await stream;
		assert.equal(seen[0], RunStatus.QUEUED);
		assert.equal(seen[seen.length - 1], RunStatus.COMPLETED);
	});

	test("WaitForRun ends cleanly when its server drains, before the run is final", async () => {
		const { env } = await setup();
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const draining = await drainingServer(h);
		const seen: RunStatus[] = [];
		const following = (async () => {
			for await (const m of draining.client.waitForRun({
				environmentId: env,
				runId: run?.id ?? "",
			})) {
				seen.push(m.run?.status ?? RunStatus.UNSPECIFIED);
			}
		})();
		while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		await draining.drainPromptly(() => following); // ends without an error
		assert.deepEqual(seen, [RunStatus.QUEUED]);
	});

	test("ListMachinePresets lists the seven presets, smallest first, with small-1x the default", async () => {
		const res = await h.client.listMachinePresets({});
		assert.deepEqual(
			res.presets.map((p) => [p.name, p.cpu, p.memoryGb]),
			[
				["micro", 0.25, 0.25],
				["small-1x", 0.5, 0.5],
				["small-2x", 1, 1],
				["medium-1x", 1, 2],
				["medium-2x", 2, 4],
				["large-1x", 4, 8],
				["large-2x", 8, 16],
			],
		);
		assert.equal(res.defaultPreset, "small-1x");
	});

	test("bad input is refused with a status naming the field, and nothing is stored", async () => {
		const { env, worker } = await setup();
		const cases: [string, Parameters<typeof h.client.triggerRun>[0], Code, RegExp][] = [
			[
				"unknown task",
				{ environmentId: env, taskId: "nope", payload: json({}) },
				Code.NotFound,
				/task_id: task "nope"/,
			],
			[
				"unknown preset",
				{
					environmentId: env,
					taskId: "t",
					options: { machine: { kind: { case: "preset", value: "huge" } } },
				},
				Code.InvalidArgument,
				/micro, small-1x, small-2x, medium-1x, medium-2x, large-1x, large-2x/,
			],
			[
				"zero cpu",
				{
					environmentId: env,
					taskId: "t",
					options: { machine: { kind: { case: "custom", value: { cpu: 0, memoryGb: 1 } } } },
				},
				Code.InvalidArgument,
				/options\.machine\.custom\.cpu/,
			],
			[
				"too much memory",
				{
					environmentId: env,
					taskId: "t",
					options: { machine: { kind: { case: "custom", value: { cpu: 1, memoryGb: 17 } } } },
				},
				Code.InvalidArgument,
				/largest preset/,
			],
			[
				"eleven tags",
				{ environmentId: env, taskId: "t", options: { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) } },
				Code.InvalidArgument,
				/options\.tags: 11 tags is over the limit of 10/,
			],
			[
				"long tag",
				{ environmentId: env, taskId: "t", options: { tags: ["x".repeat(129)] } },
				Code.InvalidArgument,
				/options\.tags\[0\]/,
			],
			[
				"negative delay",
				{ environmentId: env, taskId: "t", options: { delay: durationFromMs(-1_000) } },
				Code.InvalidArgument,
				/options\.delay: must not be negative/,
			],
			[
				"negative ttl",
				{ environmentId: env, taskId: "t", options: { ttl: durationFromMs(-1) } },
				Code.InvalidArgument,
				/options\.ttl/,
			],
			[
				"delay past 100 years (its run would start after any date PostgreSQL stores)",
				{ environmentId: env, taskId: "t", options: { delay: { seconds: 1_000_000_000_000n, nanos: 0 } } },
				Code.InvalidArgument,
				/options\.delay: 1000000000000000 ms is over the limit of 3155760000000 ms \(100 years\)/,
			],
			[
				"idempotency key ttl past 100 years",
				{
					environmentId: env,
					taskId: "t",
					options: { idempotencyKey: "k", idempotencyKeyTtl: durationFromMs(3_155_760_000_001) },
				},
				Code.InvalidArgument,
				/options\.idempotency_key_ttl: 3155760000001 ms is over the limit/,
			],
			[
				"retry max timeout past 100 years",
				{ environmentId: env, taskId: "t", options: { retry: { maxTimeout: durationFromMs(4e12) } } },
				Code.InvalidArgument,
				/options\.retry\.max_timeout: 4000000000000 ms is over the limit/,
			],
			[
				"a NUL in a tag (PostgreSQL text cannot hold one)",
				{ environmentId: env, taskId: "t", options: { tags: ["a\u0000b"] } },
				Code.InvalidArgument,
				/options\.tags\[0\]: contains a NUL character/,
			],
			[
				"a NUL in the idempotency key",
				{ environmentId: env, taskId: "t", options: { idempotencyKey: "k\u0000" } },
				Code.InvalidArgument,
				/options\.idempotency_key: contains a NUL character/,
			],
			[
				"a NUL in metadata, refused by the store and reported as the caller's",
				{ environmentId: env, taskId: "t", options: { metadata: { note: "a\u0000" } } },
				Code.InvalidArgument,
				/a text field holds a NUL character \(U\+0000\), which cannot be stored/,
			],
			[
				"large payload",
				{ environmentId: env, taskId: "t", payload: new Uint8Array(2048) },
				Code.InvalidArgument,
				/payload: 2048 bytes is over the limit of 1024 bytes \(SCHEDULER_MAX_PAYLOAD_BYTES\)/,
			],
		];
		for (const [name, request, code, message] of cases) {
			await assert.rejects(h.client.triggerRun(request), (e: unknown) => {
				const err = ConnectError.from(e);
				assert.equal(err.code, code, name);
				assert.match(err.rawMessage, message, name);
				return true;
			});
		}
		for (const [cron, timezone, message] of [
			["* * *", "UTC", /cron: .* must have five fields/],
			["61 * * * *", "UTC", /cron: .* is not a valid cron expression/],
			["* * * * *", "Mars/Olympus", /timezone: "Mars\/Olympus" is not an IANA timezone/],
		] as const) {
			await assert.rejects(
				h.client.createSchedule({ environmentId: env, taskId: "t", cron, timezone }),
				(e: unknown) => {
					const err = ConnectError.from(e);
					assert.equal(err.code, Code.InvalidArgument);
					assert.match(err.rawMessage, message);
					return true;
				},
			);
		}
		await assert.rejects(
			worker.complete("attempt_missing", {}),
			(e: unknown) => ConnectError.from(e).code === Code.NotFound,
		);
		await assert.rejects(
			h.client.listRuns({
				environmentId: env,
				created: { start: { seconds: -1_000_000_000_000n, nanos: 0 } },
			}),
			(e: unknown) => {
				const err = ConnectError.from(e);
				assert.equal(err.code, Code.InvalidArgument);
				assert.match(
					err.rawMessage,
					/created\.start: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z/,
				);
				return true;
			},
		);
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 0);
		assert.equal((await h.client.listSchedules({ environmentId: env })).schedules.length, 0);
	});

	test("a worker's capacity must be positive and finite, each field named with its limit", async () => {
		const env = newEnvironment();
		const cases: Array<[{ cpu: number; memoryGb: number }, string]> = [
			[
				{ cpu: Number.POSITIVE_INFINITY, memoryGb: 8 },
				"capacity.cpu: must be greater than 0 and at most 1000000, got Infinity",
			],
			[
				{ cpu: 4, memoryGb: 1e308 },
				"capacity.memory_gb: must be greater than 0 and at most 1000000, got 1e+308",
			],
			[{ cpu: Number.NaN, memoryGb: 8 }, "capacity.cpu: must be greater than 0 and at most 1000000, got NaN"],
			[{ cpu: 4, memoryGb: 0 }, "capacity.memory_gb: must be greater than 0 and at most 1000000, got 0"],
		];
		for (const [capacity, message] of cases) {
			await assert.rejects(
				h.client.registerWorker({
					environmentId: env,
					workerId: "w-capacity",
					tasks: [{ id: "a" }],
					capacity,
				}),
				(e: unknown) => {
					const err = ConnectError.from(e);
					assert.equal(err.code, Code.InvalidArgument, err.rawMessage);
					assert.equal(err.rawMessage, message);
					return true;
				},
			);
		}
		const unknown = await h.client.heartbeatWorker({ workerId: "w-capacity" }).then(
			() => undefined,
			(e: unknown) => ConnectError.from(e).code,
		);
		assert.equal(unknown, Code.FailedPrecondition, "a refused worker is not recorded");
		const { worker } = await h.client.registerWorker({
			environmentId: env,
			tasks: [{ id: "a" }],
			capacity: { cpu: 1_000_000, memoryGb: 1_000_000 },
		});
		assert.deepEqual([worker?.capacity?.cpu, worker?.capacity?.memoryGb], [1_000_000, 1_000_000]);
	});

	test("a worker or deployment declaring a task the queue could not serve is refused, naming the task's field", async () => {
		const env = newEnvironment();
		const capacity = { cpu: 4, memoryGb: 8 };
		const cases: Array<[MessageInitShape<typeof TaskDefinitionSchema>[], RegExp]> = [
			// "task/my task" is no queue name: its runs stayed QUEUED, never delivered.
			[[{ id: "my task" }], /tasks\[0\]\.id: "my task" must be 1 to 123 letters, digits or \. _ - \/ :/],
			[[{ id: "a" }, { id: "b", queue: "bad name!" }], /tasks\[1\]\.queue: expected 1 to 128 letters/],
			[[{ id: "a" }, { id: "a" }], /tasks\[1\]\.id: "a" is declared twice/],
			[
				[{ id: "a", machine: { kind: { case: "preset", value: "huge-9x" } } }],
				/tasks\[0\]\.machine\.preset: unknown machine preset "huge-9x"/,
			],
			[
				[{ id: "a", retry: { maxAttempts: 1000 } }],
				/tasks\[0\]\.retry\.max_attempts: must be 1 to 100, got 1000/,
			],
			[[{ id: "a", maxDuration: durationFromMs(-5_000) }], /tasks\[0\]\.max_duration: must not be negative/],
			[
				[{ id: "a", queueConcurrencyLimit: -3 }],
				/tasks\[0\]\.queue_concurrency_limit: must be 0 \(none\) to 1000000/,
			],
			[
				[{ id: "a", cron: "61 * * * *" }],
				/tasks\[0\]\.cron: "61 \* \* \* \*" is not a valid cron expression/,
			],
			[
				[{ id: "a", cron: "0 * * * *", cronTimezone: "Mars/Olympus" }],
				/tasks\[0\]\.cron_timezone: "Mars\/Olympus"/,
			],
		];
		for (const [tasks, message] of cases) {
			for (const call of [
				() => h.client.registerWorker({ environmentId: env, tasks, capacity }),
				() => h.client.createDeployment({ environmentId: env, version: "v1", tasks }),
			]) {
				await assert.rejects(call(), (e: unknown) => {
					const err = ConnectError.from(e);
					assert.equal(err.code, Code.InvalidArgument, err.rawMessage);
					assert.match(err.rawMessage, message);
					return true;
				});
			}
		}
		// Nothing was stored: no task of the environment can be triggered.
		const refused = await h.client.triggerRun({ environmentId: env, taskId: "a", payload: json({}) }).then(
			() => undefined,
			(e: unknown) => ConnectError.from(e).code,
		);
		assert.equal(refused, Code.NotFound);
		// And a valid declaration still registers.
		await TestWorker.register(h, env, [{ id: "emails.send-v2:daily", queue: "mail/outbound" }]);
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "emails.send-v2:daily",
			payload: json({}),
		});
		assert.equal(run?.status, RunStatus.QUEUED);
	});

	test("a custom machine is rounded up to the smallest preset that fits", async () => {
		const { env } = await setup();
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			options: { machine: { kind: { case: "custom", value: { cpu: 0.6, memoryGb: 1.5 } } } },
		});
		assert.equal(run?.machine?.name, "medium-1x");
	});
});
