import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema, HelpSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import {
	AttemptStatus,
	RunStatus,
	type WaitForResumeResponse,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { START_SQL } from "../core/start-sql.js";
import { CURRENT_DEPLOYMENT_SQL } from "../core/task-catalog.js";
import {
	drainingServer,
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

const text = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes));

describe("waits, placement, workers and deployments through gRPC", () => {
	let h: SchedulerHarness;

	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "10000" }, (started) => {
		h = started;
	});

	test("placement with mixed presets never puts more on a worker than its capacity", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }], { cpu: 2, memoryGb: 4 });
		const presets = [
			"medium-1x",
			"small-2x",
			"micro",
			"small-1x",
			"medium-2x",
			"micro",
			"small-1x",
			"large-1x",
		];
		for (const preset of presets) {
			await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				options: { machine: { kind: { case: "preset", value: preset } } },
			});
		}
		// The worker claims every delivery at once, as a buggy or racing worker might; the scheduler is the guard.
		const deliveries = await worker.take(presets.length);
		assert.equal(deliveries.length, presets.length);
		const outcomes = await Promise.all(
			deliveries.map((d) =>
				h.client
					.startAttempt({
						workerId: worker.id,
						runId: d.message?.metadata?.runId ?? "",
						queueReceipt: d.receipt,
					})
					.then((r) => ({ ok: true as const, machine: r.run?.machine }))
					.catch((e: unknown) => ({ ok: false as const, code: ConnectError.from(e).code })),
			),
		);
		const placed = outcomes.filter((o) => o.ok);
		const cpu = placed.reduce((s, o) => s + (o.ok ? (o.machine?.cpu ?? 0) : 0), 0);
		const memory = placed.reduce((s, o) => s + (o.ok ? (o.machine?.memoryGb ?? 0) : 0), 0);
		assert.ok(cpu <= 2 && memory <= 4, `placed ${cpu} vCPU and ${memory} GB on a 2 vCPU / 4 GB worker`);
		assert.ok(placed.length >= 1);
		assert.ok(outcomes.some((o) => !o.ok && o.code === Code.ResourceExhausted));
		const view = await h.client.registerWorker({
			environmentId: env,
			workerId: `${worker.id}-probe`,
			capacity: { cpu: 1, memoryGb: 1 },
			tasks: [{ id: "t" }],
		});
		assert.ok(view.worker !== undefined);
		const executing = await h.client.listRuns({ environmentId: env, statuses: [RunStatus.EXECUTING] });
		assert.equal(executing.runs.length, placed.length);
	});

	test("concurrent starts fill a worker exactly to its capacity, no more and no less", async () => {
		const env = newEnvironment();
		// 1 vCPU / 1 GB holds exactly four micro runs (0.25 / 0.25 each).
		const worker = await TestWorker.register(h, env, [{ id: "t" }], { cpu: 1, memoryGb: 1 });
		for (let i = 0; i < 10; i++) {
			await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				options: { machine: { kind: { case: "preset", value: "micro" } } },
			});
		}
		const deliveries = await worker.take(10);
		assert.equal(deliveries.length, 10);
		const outcomes = await Promise.all(
			deliveries.map((d) =>
				h.client
					.startAttempt({
						workerId: worker.id,
						runId: d.message?.metadata?.runId ?? "",
						queueReceipt: d.receipt,
					})
					.then(() => "started")
					.catch((e: unknown) => Code[ConnectError.from(e).code]),
			),
		);
		assert.deepEqual(
			[...outcomes].sort(),
			[...Array(6).fill("ResourceExhausted"), ...Array(4).fill("started")].sort(),
		);
		const executing = await h.client.listRuns({ environmentId: env, statuses: [RunStatus.EXECUTING] });
		assert.equal(executing.runs.length, 4);
	});

	test("a parent and its child on one concurrency-1 queue both complete, the parent resumed once with the child's output", async () => {
		const env = newEnvironment();
		await h.queue.updateQueue({ environmentId: env, queue: "shared", concurrencyLimit: 1 });
		const worker = await TestWorker.register(h, env, [
			{ id: "parent", queue: "shared" },
			{ id: "child", queue: "shared" },
		]);
		const parent = await h.client.triggerRun({ environmentId: env, taskId: "parent", payload: json({}) });
		const p1 = await worker.startNext();
		assert.equal(p1.run?.id, parent.run?.id);
		const child = await h.client.triggerRun({
			environmentId: env,
			taskId: "child",
			payload: json({ x: 2 }),
			parent: { runId: p1.run?.id ?? "", attemptId: p1.attempt?.id ?? "", wait: true },
		});
		assert.equal(
			(await h.client.getRun({ environmentId: env, runId: p1.run?.id ?? "" })).run?.status,
			RunStatus.WAITING,
		);
		// With the parent's slot released, the child gets the queue's only slot.
		const c1 = await worker.startNext();
		assert.equal(c1.run?.id, child.run?.id);
		await worker.complete(c1.attempt?.id ?? "", { doubled: 4 });
		const p2 = await worker.startNext();
		assert.equal(p2.run?.id, parent.run?.id);
		assert.equal(p2.resumed, true);
		assert.equal(p2.attempt?.id, p1.attempt?.id, "the same attempt continues");
		assert.equal(p2.resolvedWaits.length, 1);
		assert.deepEqual(text(p2.resolvedWaits[0]?.results[0]?.output), { doubled: 4 });
		const done = await worker.complete(p2.attempt?.id ?? "", { ok: true });
		assert.equal(done.run?.status, RunStatus.COMPLETED);
		assert.equal(done.run?.attemptCount, 1);
		const leftovers = await worker.take(1);
		assert.equal(leftovers.length, 0, "no second continuation was enqueued");
	});

	test("a second wait while one is pending is refused as TASK_DID_CONCURRENT_WAIT and the run fails without retry", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const first = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: started.attempt?.id ?? "",
			target: { case: "duration", value: durationFromMs(60_000) },
		});
		assert.equal(first.deliveryReleased, true);
		await assert.rejects(
			h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				payload: json({}),
				parent: { runId: run?.id ?? "", attemptId: started.attempt?.id ?? "", wait: true },
			}),
			(e: unknown) => {
				const err = ConnectError.from(e);
				assert.equal(err.code, Code.FailedPrecondition);
				assert.match(err.rawMessage, /parallel waits \(for example Promise\.all/);
				assert.equal(err.findDetails(ErrorInfoSchema)[0]?.reason, "TASK_DID_CONCURRENT_WAIT");
				assert.equal(
					err.findDetails(HelpSchema)[0]?.links[0]?.url,
					"https://taskmesh.dev/docs/waits#parallel-waits",
				);
				return true;
			},
		);
		const got = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(got.run?.status, RunStatus.FAILED);
		assert.equal(got.run?.error?.code, "TASK_DID_CONCURRENT_WAIT");
		assert.equal(got.run?.attemptCount, 1);
		assert.equal(got.run?.attempts[0]?.status, AttemptStatus.FAILED);
		assert.equal(
			(await h.client.listRuns({ environmentId: env })).runs.length,
			1,
			"the second child was not created",
		);
		h.clock.advance(600_000);
		await h.engine.maintenance.runOnce();
		assert.equal(
			(await h.client.getRun({ environmentId: env, runId: run?.id ?? "" })).run?.status,
			RunStatus.FAILED,
		);
	});

	test("a wait begun while its child finishes is resolved either way, so the parent always resumes", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		for (let i = 0; i < 12; i++) {
			const parent = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({ i }) });
			const ps = await worker.startNext();
			const child = await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				payload: json({ child: i }),
				parent: { runId: parent.run?.id ?? "", attemptId: ps.attempt?.id ?? "" },
			});
			const cs = await worker.startNext();
			assert.equal(cs.run?.id, child.run?.id);
			// The child's completion and the parent's wait race each other.
			const [begun] = await Promise.all([
				h.client.beginWait({
					runId: parent.run?.id ?? "",
					attemptId: ps.attempt?.id ?? "",
					target: { case: "childRunId", value: child.run?.id ?? "" },
				}),
				worker.complete(cs.attempt?.id ?? "", { child: i }),
			]);
			let resumed: WaitForResumeResponse | undefined;
			for await (const m of h.client.waitForResume(
				{ waitId: begun.wait?.id ?? "" },
				{ signal: AbortSignal.timeout(10_000) },
			)) {
				resumed = m;
				break;
			}
			assert.equal(resumed?.results[0]?.runId, child.run?.id, `round ${i}: the parent was resumed`);
			assert.equal(resumed?.results[0]?.status, RunStatus.COMPLETED);
			const continued = await worker.startNext();
			assert.equal(continued.run?.id, parent.run?.id);
			assert.equal(continued.resumed, true);
			await worker.complete(continued.attempt?.id ?? "", { i });
		}
	});

	test("a time wait resumes the run when its time has come, and ResolveWait resolves a batch wait once", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const s1 = await worker.startNext();
		const attempt = { runId: run?.id ?? "", attemptId: s1.attempt?.id ?? "" };
		// Times no date can hold are the caller's error, named; the run can still wait.
		for (const [target, message] of [
			[
				{ case: "duration", value: { seconds: 1_000_000_000_000n, nanos: 0 } },
				/duration: 1000000000000000 ms is over the limit of 3155760000000 ms \(100 years\)/,
			],
			[
				{ case: "until", value: { seconds: -1_000_000_000_000n, nanos: 0 } },
				/until: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z/,
			],
		] as const) {
			await assert.rejects(h.client.beginWait({ ...attempt, target }), (e: unknown) => {
				const err = ConnectError.from(e);
				assert.equal(err.code, Code.InvalidArgument);
				assert.match(err.rawMessage, message);
				return true;
			});
		}
		await h.client.beginWait({ ...attempt, target: { case: "duration", value: durationFromMs(5_000) } });
		h.clock.advance(5_000);
		await h.engine.maintenance.runOnce();
		const s2 = await worker.startNext();
		assert.equal(s2.resumed, true);
		const batchWait = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: s2.attempt?.id ?? "",
			target: { case: "batchId", value: "batch_x" },
		});
		const resume = (async () => {
			for await (const m of h.client.waitForResume({ waitId: batchWait.wait?.id ?? "" })) return m;
			return undefined;
		})();
		const results = [{ runId: "run_a", status: RunStatus.COMPLETED, output: json(1) }];
		assert.equal((await h.client.resolveWait({ waitId: batchWait.wait?.id ?? "", results })).resolved, true);
		assert.equal((await h.client.resolveWait({ waitId: batchWait.wait?.id ?? "", results })).resolved, false);
		assert.equal((await resume)?.results[0]?.runId, "run_a");
		const s3 = await worker.startNext();
		assert.equal(s3.resolvedWaits.length, 2);
		assert.equal(s3.resolvedWaits[1]?.results[0]?.runId, "run_a");
	});

	test("resolved waits come back in the order they were begun, even when the clock says otherwise", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		let parent = await worker.startNext();
		const children: string[] = [];
		const begunAt = h.clock.now();
		for (const [i, at] of [begunAt, begunAt - 60_000].entries()) {
			// The second wait is begun on a replica whose clock is a minute behind.
			h.clock.set(at);
			const child = await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				payload: json({ child: i }),
				parent: { runId: run?.id ?? "", attemptId: parent.attempt?.id ?? "", wait: true },
			});
			children.push(child.run?.id ?? "");
			const c = await worker.startNext();
			await worker.complete(c.attempt?.id ?? "", { child: i });
			parent = await worker.startNext();
			assert.equal(parent.run?.id, run?.id);
		}
		assert.deepEqual(
			parent.resolvedWaits.map((w) => w.results[0]?.runId),
			children,
		);
		h.clock.set(begunAt);
	});

	test("a draining scheduler ends a pending WaitForResume cleanly instead of holding the drain open", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const begun = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: started.attempt?.id ?? "",
			target: { case: "batchId", value: "batch_never" },
		});
		const draining = await drainingServer(h);
		const messages: unknown[] = [];
		const following = (async () => {
			for await (const m of draining.client.waitForResume({
				waitId: begun.wait?.id ?? "",
			}))
				messages.push(m);
		})();
		// The stream is open and waiting before the drain begins.
		await new Promise((resolve) => setTimeout(resolve, 200));
		await draining.drainPromptly(() => following);
		assert.deepEqual(messages, [], "nothing was resolved, so nothing was sent");
	});

	test("a StartAttempt sent again with its receipt returns the running attempt and keeps the queue's slot; another worker is still refused", async () => {
		const env = newEnvironment();
		await h.queue.updateQueue({ environmentId: env, queue: "one", concurrencyLimit: 1 });
		const worker = await TestWorker.register(h, env, [{ id: "t", queue: "one" }]);
		const other = await TestWorker.register(h, env, [{ id: "t", queue: "one" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const [delivery] = await worker.take(1);
		const request = { workerId: worker.id, runId: run?.id ?? "", queueReceipt: delivery?.receipt ?? "" };
		const first = await h.client.startAttempt(request);
		// The answer was lost, say, and the worker's client sends the call again.
		const again = await h.client.startAttempt(request);
		assert.equal(again.attempt?.id, first.attempt?.id);
		assert.equal(again.run?.status, RunStatus.EXECUTING);
		assert.equal(again.run?.attemptCount, 1);
		assert.equal(again.resumed, false);
		// Its delivery was not settled: the queue's only slot is still the run's.
		await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		assert.equal((await worker.take(1)).length, 0, "a second run was delivered while the first executes");
		const executing = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(executing.run?.attempts.length, 1);
		await assert.rejects(h.client.startAttempt({ ...request, workerId: other.id }), (e: unknown) => {
			const err = ConnectError.from(e);
			assert.equal(err.code, Code.FailedPrecondition);
			assert.match(err.rawMessage, /run_id: run "run_\w+" is EXECUTING, not QUEUED; drop this delivery/);
			return true;
		});

		// A continuation sent again is a continuation again, with its resolved waits.
		const env2 = newEnvironment();
		const w2 = await TestWorker.register(h, env2, [{ id: "t" }]);
		const r2 = await h.client.triggerRun({ environmentId: env2, taskId: "t", payload: json({}) });
		const s1 = await w2.startNext();
		await h.client.beginWait({
			runId: r2.run?.id ?? "",
			attemptId: s1.attempt?.id ?? "",
			target: { case: "duration", value: durationFromMs(1_000) },
		});
		h.clock.advance(1_000);
		await h.engine.maintenance.runOnce();
		const [resume] = await w2.take(1);
		const continued = { workerId: w2.id, runId: r2.run?.id ?? "", queueReceipt: resume?.receipt ?? "" };
		const c1 = await h.client.startAttempt(continued);
		const c2 = await h.client.startAttempt(continued);
		assert.deepEqual(
			[c2.resumed, c2.attempt?.id, c2.resolvedWaits.length],
			[true, c1.attempt?.id, c1.resolvedWaits.length],
		);
		assert.equal(c2.resolvedWaits.length, 1);
	});

	test("a run cannot wait for itself, for an ancestor, or for a run that waits for it, and nothing changes", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const startOne = async (parent?: { runId: string; attemptId: string; wait: boolean }) => {
			const { run } = await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				payload: json({}),
				...(parent === undefined ? {} : { parent }),
			});
			const started = await worker.startNext();
			assert.equal(started.run?.id, run?.id);
			return { runId: run?.id ?? "", attemptId: started.attempt?.id ?? "" };
		};
		const waitFor = (waiter: { runId: string; attemptId: string }, childRunId: string) =>
			h.client.beginWait({ ...waiter, target: { case: "childRunId", value: childRunId } });
		const refusedWith = async (call: Promise<unknown>, code: Code, message: RegExp) => {
			await assert.rejects(call, (e: unknown) => {
				const err = ConnectError.from(e);
				assert.equal(err.code, code, err.rawMessage);
				assert.match(err.rawMessage, message);
				return true;
			});
		};
		const status = async (runId: string) =>
			(await h.client.getRun({ environmentId: env, runId })).run?.status;

		const parent = await startOne();
		await refusedWith(
			waitFor(parent, parent.runId),
			Code.InvalidArgument,
			/^child_run_id: run "run_\w+" cannot wait for itself/,
		);
		const child = await startOne({ ...parent, wait: true });
		assert.equal(await status(parent.runId), RunStatus.WAITING);
		const grandchild = await startOne({ ...child, wait: false });
		for (const waiter of [child, grandchild]) {
			await refusedWith(
				waitFor(waiter, parent.runId),
				Code.FailedPrecondition,
				new RegExp(`^child_run_id: run "${parent.runId}" is an ancestor of run "${waiter.runId}"`),
			);
			assert.equal(await status(waiter.runId), RunStatus.EXECUTING, "the refused waiter still runs");
		}
		// Two unrelated runs: the second may not close a loop of waits through the first.
		const a = await startOne();
		const b = await startOne();
		await waitFor(a, b.runId);
		await refusedWith(
			waitFor(b, a.runId),
			Code.FailedPrecondition,
			new RegExp(
				`^child_run_id: run "${a.runId}" is itself waiting, through its pending waits, for run "${b.runId}"`,
			),
		);
		assert.equal(await status(b.runId), RunStatus.EXECUTING);
		// The refused runs go on: b completes and resumes a.
		await worker.complete(b.attemptId, { b: 1 });
		const resumed = await worker.startNext();
		assert.equal(resumed.run?.id, a.runId);
	});

	test("WaitForResume of a wait canceled with its run ends with FAILED_PRECONDITION, not as a resume", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const { wait } = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: started.attempt?.id ?? "",
			target: { case: "duration", value: durationFromMs(3_600_000) },
		});
		// What a WaitForResume call ends with: its messages, or the status it failed with.
		const follow = () =>
			(async () => {
				const messages: WaitForResumeResponse[] = [];
				for await (const m of h.client.waitForResume({ waitId: wait?.id ?? "" })) messages.push(m);
				return messages;
			})().catch((e: unknown) => ConnectError.from(e));
		const openBefore = follow();
		// The stream is open and waiting before the run is canceled.
		await new Promise((resolve) => setTimeout(resolve, 200));
		await h.client.cancelRun({ environmentId: env, runId: run?.id ?? "" });
		for (const ended of [await openBefore, await follow()]) {
			assert.ok(ended instanceof ConnectError, "the stream failed instead of answering a resume");
			assert.equal(ended.code, Code.FailedPrecondition);
			assert.match(
				ended.rawMessage,
				/^wait_id: wait "wait_\w+" was canceled: its run "run_\w+" ended \(CANCELED\) while it waited/,
			);
		}
	});

	test("BeginWait answers the wait with its child run or batch, and resolved_at when the child was already final", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const waiter = { runId: run?.id ?? "", attemptId: started.attempt?.id ?? "" };
		const { run: child } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const onChild = await h.client.beginWait({
			...waiter,
			target: { case: "childRunId", value: child?.id ?? "" },
		});
		assert.deepEqual(
			[onChild.wait?.runId, onChild.wait?.attemptId, onChild.wait?.childRunId, onChild.wait?.batchId],
			[waiter.runId, waiter.attemptId, child?.id, ""],
		);
		assert.equal(onChild.wait?.resolvedAt, undefined);
		const c = await worker.startNext();
		await worker.complete(c.attempt?.id ?? "", { done: true });
		const resumed = await worker.startNext();
		const onBatch = await h.client.beginWait({
			...waiter,
			attemptId: resumed.attempt?.id ?? "",
			target: { case: "batchId", value: "batch_b" },
		});
		assert.deepEqual([onBatch.wait?.childRunId, onBatch.wait?.batchId], ["", "batch_b"]);
		await h.client.resolveWait({ waitId: onBatch.wait?.id ?? "" });
		const again = await worker.startNext();
		// The child is final already: the wait is resolved as it begins.
		const onFinal = await h.client.beginWait({
			...waiter,
			attemptId: again.attempt?.id ?? "",
			target: { case: "childRunId", value: child?.id ?? "" },
		});
		assert.equal(onFinal.wait?.childRunId, child?.id);
		assert.ok(onFinal.wait?.resolvedAt !== undefined, "resolved_at is set");
	});

	test("a worker that stops heartbeating has its run queued again: the attempt CRASHED, the next attempt follows", async () => {
		const env = newEnvironment();
		const silent = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const s1 = await silent.startNext();
		h.clock.advance(30_001);
		const healthy = await TestWorker.register(h, env, [{ id: "t" }]);
		await h.engine.maintenance.runOnce();
		const s2 = await healthy.startNext();
		assert.equal(s2.run?.id, run?.id);
		assert.equal(s2.attempt?.number, 2);
		await healthy.complete(s2.attempt?.id ?? "", {});
		const got = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(got.run?.status, RunStatus.COMPLETED);
		assert.deepEqual(
			got.run?.attempts.map((a) => a.status),
			[AttemptStatus.CRASHED, AttemptStatus.COMPLETED],
		);
		await assert.rejects(
			silent.complete(s1.attempt?.id ?? "", {}),
			(e: unknown) => ConnectError.from(e).code === Code.FailedPrecondition,
		);
	});

	test("the current-deployment lookup uses its index and one dequeue makes exactly one such query", async () => {
		const env = newEnvironment();
		await h.client.createDeployment({
			environmentId: env,
			version: "v1",
			tasks: [{ id: "t", machine: { kind: { case: "preset", value: "micro" } } }],
		});
		h.clock.advance(1);
		await h.client.createDeployment({ environmentId: env, version: "v2", tasks: [{ id: "t" }] });
		await h.client.promoteDeployment({ environmentId: env, version: "v1" });
		await h.client.promoteDeployment({ environmentId: env, version: "v2" });
		assert.equal((await h.client.getCurrentDeployment({ environmentId: env })).deployment?.version, "v2");
		const worker = await TestWorker.register(h, env, [{ id: "t" }], undefined, "v2");
		const oldWorker = await TestWorker.register(h, env, [{ id: "t" }], undefined, "v1");
		await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });

		const client = await h.schema.pool.connect();
		try {
			await client.query("SET enable_seqscan = off");
			const plan = await client.query(`EXPLAIN ${CURRENT_DEPLOYMENT_SQL.replace("$1", "'x'")}`);
			assert.match(plan.rows.map((r) => r["QUERY PLAN"]).join("\n"), /deployments_current_idx/);
			// StartAttempt runs the same lookup inside start_attempt (migration 006), its one statement.
			const source = await client.query<{ def: string }>(
				"SELECT pg_get_functiondef('start_attempt'::regproc) AS def",
			);
			const lookup =
				/SELECT d\.version FROM deployments d WHERE d\.environment_id = run\.environment_id AND d\.is_current/;
			assert.match(source.rows[0]?.def ?? "", lookup);
			const startPlan = await client.query(
				"EXPLAIN SELECT d.version FROM deployments d WHERE d.environment_id = 'x' AND d.is_current",
			);
			assert.match(startPlan.rows.map((r) => r["QUERY PLAN"]).join("\n"), /deployments_current_idx/);
		} finally {
			await client.query("RESET enable_seqscan");
			client.release();
		}

		const [wrong] = await oldWorker.take(1);
		await assert.rejects(
			h.client.startAttempt({
				workerId: oldWorker.id,
				runId: wrong?.message?.metadata?.runId ?? "",
				queueReceipt: wrong?.receipt ?? "",
			}),
			/needs version "v2"/,
		);
		const seen: string[] = [];
		const original = h.schema.pool.connect.bind(h.schema.pool);
		// Record the SQL of this one StartAttempt: the pool is real, only observed.
		(h.schema.pool as unknown as { connect: typeof original }).connect = (async () => {
			const c = await original();
			const query = c.query.bind(c);
			(c as unknown as { query: unknown }).query = (sql: unknown, ...rest: unknown[]) => {
				seen.push(typeof sql === "string" ? sql : ((sql as { text?: string }).text ?? ""));
				return (query as (...a: unknown[]) => unknown)(sql, ...rest);
			};
			c.once("release" as never, () => {
				(c as unknown as { query: unknown }).query = query;
			});
			return c;
		}) as typeof original;
		try {
			const started = await worker.startNext();
			assert.equal(started.run?.deploymentVersion, "v2");
			assert.equal(
				started.run?.machine?.name,
				"small-1x",
				"defaults come from the current deployment's task",
			);
		} finally {
			(h.schema.pool as unknown as { connect: typeof original }).connect = original;
		}
		// One round trip: no BEGIN/COMMIT, no separate lookup.
		assert.deepEqual(seen, [START_SQL]);
		const list = await h.client.listDeployments({ environmentId: env, pageSize: 1 });
		assert.equal(list.deployments[0]?.version, "v2");
		assert.notEqual(list.nextPageToken, "");
	});
});

describe("ResolveWait with results a run's resume could not carry", () => {
	let h: SchedulerHarness;

	// One wait may carry SCHEDULER_MAX_OUTPUT_BYTES + SCHEDULER_RESOLVED_WAITS_INLINE_BYTES = 2,048 bytes.
	schedulerSuite(
		{ SCHEDULER_MAX_OUTPUT_BYTES: "1024", SCHEDULER_RESOLVED_WAITS_INLINE_BYTES: "1024" },
		(started) => {
			h = started;
		},
	);

	test("is refused with RESOURCE_EXHAUSTED naming results and the limit; the wait stays pending and resolves later", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const s1 = await worker.startNext();
		const { wait } = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: s1.attempt?.id ?? "",
			target: { case: "batchId", value: "batch_large" },
		});
		// Each result: a 702-byte output, a 5-byte run id, "null" for the error and 32 of framing = 743 bytes.
		const results = [0, 1, 2].map((i) => ({
			runId: `run_${i}`,
			status: RunStatus.COMPLETED,
			output: json("x".repeat(700)),
		}));
		const refused = await h.client.resolveWait({ waitId: wait?.id ?? "", results }).then(
			() => undefined,
			(error: unknown) => ConnectError.from(error),
		);
		assert.equal(refused?.code, Code.ResourceExhausted);
		assert.match(
			refused?.rawMessage ?? "",
			/^results: 3 results of 2229 bytes are over the 2048 bytes one wait carries .*\(SCHEDULER_MAX_OUTPUT_BYTES \+ SCHEDULER_RESOLVED_WAITS_INLINE_BYTES\)/,
		);
		const { run: still } = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(still?.status, RunStatus.WAITING);

		const fitting = results.slice(0, 2);
		assert.equal((await h.client.resolveWait({ waitId: wait?.id ?? "", results: fitting })).resolved, true);
		const s2 = await worker.startNext();
		assert.equal(s2.resumed, true);
		assert.deepEqual(
			s2.resolvedWaits.map((w) => w.results.map((r) => [r.runId, text(r.output)])),
			[
				[
					["run_0", "x".repeat(700)],
					["run_1", "x".repeat(700)],
				],
			],
		);
	});
});
