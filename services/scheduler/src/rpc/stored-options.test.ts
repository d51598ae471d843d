import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

/** A run's options column as stored. */
async function storedDocument(h: SchedulerHarness, runId: string): Promise<unknown> {
	const { rows } = await h.schema.pool.query<{ options: unknown }>("SELECT options FROM runs WHERE id = $1", [
		runId,
	]);
	return rows[0]?.options;
}

describe("run options: stored in their columns, read back whole", () => {
	let h: SchedulerHarness;

	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	const everyOption = {
		queue: "custom-queue",
		concurrencyKey: "tenant-7",
		idempotencyKey: "idem-1",
		idempotencyKeyTtl: durationFromMs(60_000),
		ttl: durationFromMs(120_000),
		tags: ["a", "b"],
		retry: {
			maxAttempts: 2,
			factor: 3,
			minTimeout: durationFromMs(2_000),
			maxTimeout: durationFromMs(9_000),
			randomize: false,
		},
		priority: 7,
		maxDuration: durationFromMs(5_000),
		metadata: { x: 1, nested: { y: "z" } },
		machine: { kind: { case: "preset" as const, value: "medium-1x" } },
	};

	/** A worker for task "t" in a new environment, and a run of "t" with every option set. */
	async function runWithEveryOption() {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: everyOption,
		});
		return { env, worker, run, runId: run?.id ?? "" };
	}

	test("every option reads back the same from TriggerRun, GetRun and GetRuns; the column keeps only what no other column holds", async () => {
		const { env, run, runId } = await runWithEveryOption();
		const triggered = run?.options;
		assert.equal(triggered?.queue, "custom-queue");
		assert.equal(triggered?.concurrencyKey, "tenant-7");
		assert.equal(triggered?.idempotencyKey, "idem-1");
		assert.equal(Number(triggered?.idempotencyKeyTtl?.seconds), 60);
		assert.equal(Number(triggered?.ttl?.seconds), 120);
		assert.deepEqual(triggered?.tags, ["a", "b"]);
		assert.equal(triggered?.retry?.maxAttempts, 2);
		assert.equal(triggered?.retry?.factor, 3);
		assert.equal(Number(triggered?.retry?.maxTimeout?.seconds), 9);
		assert.equal(triggered?.priority, 7);
		assert.equal(Number(triggered?.maxDuration?.seconds), 5);
		assert.deepEqual(triggered?.metadata, { x: 1, nested: { y: "z" } });
		assert.equal(run?.machine?.name, "medium-1x");

		const got = await h.client.getRun({ environmentId: env, runId });
		assert.deepEqual(got.run?.options, triggered);
		const { runs } = await h.client.getRuns({ environmentId: env, runIds: [runId] });
		assert.deepEqual(runs[0]?.options, triggered);

		assert.deepEqual(await storedDocument(h, runId), {
			idempotencyKey: "idem-1",
			idempotencyKeyTtlMs: 60_000,
			metadata: { x: 1, nested: { y: "z" } },
		});
		const plain = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		assert.deepEqual(await storedDocument(h, plain.run?.id ?? ""), {});
		const delayed = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { delay: durationFromMs(30_000) },
		});
		assert.deepEqual(await storedDocument(h, delayed.run?.id ?? ""), { delayMs: 30_000 });
		assert.equal(Number(delayed.run?.options?.delay?.seconds), 30);
	});

	test("a row stored with the whole document (before migration 008) reads back the same", async () => {
		const { env, run, runId } = await runWithEveryOption();
		await h.schema.pool.query("UPDATE runs SET options = $2 WHERE id = $1", [
			runId,
			JSON.stringify({
				queue: "custom-queue",
				concurrencyKey: "tenant-7",
				idempotencyKey: "idem-1",
				idempotencyKeyTtlMs: 60_000,
				delayMs: 0,
				ttlMs: 120_000,
				tags: ["a", "b"],
				retry: { maxAttempts: 2, factor: 3, minTimeoutMs: 2_000, maxTimeoutMs: 9_000, randomize: false },
				priority: 7,
				maxDurationMs: 5_000,
				metadata: { x: 1, nested: { y: "z" } },
				machine: "medium-1x",
				deploymentVersion: "",
			}),
		]);
		const got = await h.client.getRun({ environmentId: env, runId });
		assert.deepEqual(got.run?.options, run?.options);
	});

	test("the attempt functions take the maximum duration and the retry policy from the run's columns", async () => {
		const { worker, run } = await runWithEveryOption();
		const first = await worker.startNext();
		assert.equal(first.run?.id, run?.id);
		const deadlineMs =
			Number(first.deadline?.seconds) * 1000 + Math.round((first.deadline?.nanos ?? 0) / 1e6);
		assert.equal(deadlineMs - h.clock.now(), 5_000, "max duration of 5 s sets the deadline");

		// Two attempts at most; the first retry waits minTimeout (2 s) exactly (no randomizing).
		const failed = await worker.fail(first.attempt?.id ?? "", true);
		assert.equal(failed.run?.status, RunStatus.REATTEMPTING);
		const retryAtMs = Number(failed.retryAt?.seconds) * 1000 + Math.round((failed.retryAt?.nanos ?? 0) / 1e6);
		assert.equal(retryAtMs - h.clock.now(), 2_000);
		h.clock.advance(2_000);
		await h.engine.maintenance.runOnce();
		const second = await worker.startNext();
		const final = await worker.fail(second.attempt?.id ?? "", true);
		assert.equal(final.run?.status, RunStatus.FAILED, "maxAttempts 2 ends the run after the second failure");
	});
});
