import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("TriggerRuns' bulk insert", () => {
	let h: SchedulerHarness;

	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	// A few runs go in by INSERT, many by binary COPY: both must store the same runs.
	for (const plain of [0, 96]) {
		test(`each returned run is exactly the run GetRun reads back, whatever options it carries (${4 + plain} runs)`, async () => {
			const env = newEnvironment();
			await TestWorker.register(h, env, [{ id: "t", queue: "shared" }]);
			const response = await h.client.triggerRuns({
				environmentId: env,
				batchId: `batch_${env}`,
				firstIndex: 5,
				runs: [
					{ taskId: "t", payload: bytes({ a: 'quote " and back\\slash, ünïcode' }) },
					{ taskId: "t", payload: new Uint8Array([0, 255, 1, 254]), payloadType: "application/octet-stream" },
					{
						taskId: "t",
						payload: bytes(3),
						options: {
							queue: "own",
							concurrencyKey: "tenant-1",
							idempotencyKey: `key_${env}`,
							idempotencyKeyTtl: durationFromMs(60_000),
							ttl: durationFromMs(30_000),
							maxDuration: durationFromMs(5_000),
							tags: ["a", 'with "quotes"', "{braces}"],
							priority: 7,
							retry: {
								maxAttempts: 5,
								factor: 3,
								minTimeout: durationFromMs(10),
								maxTimeout: durationFromMs(100),
								randomize: true,
							},
							machine: { kind: { case: "preset", value: "large-1x" } },
							metadata: { nested: { list: [1, "two", null] }, flag: true },
						},
					},
					{ taskId: "t", payload: bytes(4), options: { delay: durationFromMs(60_000) } },
					...Array.from({ length: plain }, (_, i) => ({ taskId: "t", payload: bytes({ plain: i }) })),
				],
			});
			assert.equal(response.failures.length, 0);
			assert.equal(response.runs.length, 4 + plain);
			assert.deepEqual(
				response.runs.slice(0, 4).map((r) => [r.batchIndex, r.status]),
				[
					[5, RunStatus.QUEUED],
					[6, RunStatus.QUEUED],
					[7, RunStatus.QUEUED],
					[8, RunStatus.DELAYED],
				],
			);
			for (const run of response.runs) {
				const { run: stored } = await h.client.getRun({ environmentId: env, runId: run.id });
				assert.deepEqual(run, stored);
			}
		});
	}

	test("a resent call of many runs (its indexes already stored) creates nothing and returns the runs it made", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const call = {
			environmentId: env,
			batchId: `batch_${env}`,
			runs: Array.from({ length: 200 }, (_, i) => ({
				taskId: "t",
				payload: bytes(i),
				...(i % 50 === 0 ? { options: { idempotencyKey: `key_${i}_${env}` } } : {}),
			})),
		};
		const first = await h.client.triggerRuns(call);
		assert.equal(first.runs.length, 200);
		assert.ok(first.runs.every((r) => !r.cached));
		const again = await h.client.triggerRuns(call);
		assert.deepEqual(
			again.runs.map((r) => r.id),
			first.runs.map((r) => r.id),
		);
		assert.ok(again.runs.every((r) => r.cached));
		// Half new, half already there: the new ones are created, the others returned.
		const mixed = await h.client.triggerRuns({ ...call, firstIndex: 100, runs: call.runs.slice(0, 200) });
		assert.deepEqual(
			mixed.runs.map((r) => r.cached),
			Array.from({ length: 200 }, (_, i) => i < 100 || i % 50 === 0),
		);
		assert.deepEqual(
			mixed.runs.slice(0, 100).map((r) => r.id),
			first.runs.slice(100).map((r) => r.id),
		);
		const listed = await h.client.listRuns({ environmentId: env, pageSize: 500 });
		assert.equal(listed.runs.length, 300 - 2);
	});

	test("item keys return the run they first made, beside new runs in the same call, and a resend creates nothing", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const keyed = (key: string, i: number) => ({
			taskId: "t",
			payload: bytes(i),
			options: { idempotencyKey: `${key}_${env}` },
		});
		const first = await h.client.triggerRuns({
			environmentId: env,
			batchId: `one_${env}`,
			runs: [keyed("k1", 0), keyed("k2", 1)],
		});
		const second = await h.client.triggerRuns({
			environmentId: env,
			batchId: `two_${env}`,
			runs: [keyed("k2", 0), { taskId: "t", payload: bytes(1) }, keyed("k1", 2), keyed("k3", 3)],
		});
		assert.deepEqual(
			second.runs.map((r) => r.cached),
			[true, false, true, false],
		);
		assert.equal(second.runs[0]?.id, first.runs[1]?.id);
		assert.equal(second.runs[2]?.id, first.runs[0]?.id);
		// A cached run keeps the batch and index it was made for.
		assert.equal(second.runs[0]?.batchId, `one_${env}`);
		const again = await h.client.triggerRuns({
			environmentId: env,
			batchId: `two_${env}`,
			runs: [keyed("k2", 0), { taskId: "t", payload: bytes(1) }, keyed("k1", 2), keyed("k3", 3)],
		});
		assert.deepEqual(
			again.runs.map((r) => r.id),
			second.runs.map((r) => r.id),
		);
		assert.ok(again.runs.every((r) => r.cached));
		const listed = await h.client.listRuns({ environmentId: env, pageSize: 100 });
		assert.equal(listed.runs.length, 4);
	});

	test("summary_only answers each run's id, status, cached flag, batch and index, and nothing else", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t", queue: "shared" }]);
		const request = (summaryOnly: boolean) => ({
			environmentId: env,
			batchId: `summary_${env}`,
			firstIndex: 10,
			summaryOnly,
			runs: [0, 1, 2].map((i) => ({
				taskId: "t",
				payload: bytes(i),
				options: { tags: ["x"], idempotencyKey: `s${i}_${env}` },
			})),
		});
		const summary = await h.client.triggerRuns(request(true));
		// The same call again, answered whole, reads the same runs back as cached.
		const whole = await h.client.triggerRuns(request(false));
		assert.deepEqual(
			summary.runs.map((r) => [r.id, r.status, r.cached, r.batchId, r.batchIndex]),
			whole.runs.map((r) => [r.id, r.status, false, r.batchId, r.batchIndex]),
		);
		assert.deepEqual(
			summary.runs.map((r) => r.batchIndex),
			[10, 11, 12],
		);
		assert.ok(whole.runs.every((r) => r.cached && r.taskId === "t" && r.payload.length > 0));
		for (const run of summary.runs) {
			assert.equal(run.status, RunStatus.QUEUED);
			assert.equal(run.taskId, "");
			assert.equal(run.payload.length, 0);
			assert.equal(run.options, undefined);
			assert.equal(run.createdAt, undefined);
		}
	});

	test("a refused item names its own field and limit; the call's other items are created", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const response = await h.client.triggerRuns({
			environmentId: env,
			runs: [
				{ taskId: "t", payload: bytes(0) },
				{ taskId: "t", payload: bytes(1), options: { delay: durationFromMs(-5) } },
				{ taskId: "nope", payload: bytes(2) },
				{ taskId: "t", payload: bytes(3), options: { tags: ["ok", "x".repeat(129)] } },
				{ taskId: "", payload: bytes(4) },
				{ taskId: "t", payload: bytes(5) },
			],
		});
		assert.deepEqual(
			response.runs.map((run) => run.status),
			[RunStatus.QUEUED, RunStatus.QUEUED],
		);
		const INVALID_ARGUMENT = 3;
		const NOT_FOUND = 5;
		assert.deepEqual(
			response.failures.map((f) => [f.index, f.code]),
			[
				[1, INVALID_ARGUMENT],
				[2, NOT_FOUND],
				[3, INVALID_ARGUMENT],
				[4, INVALID_ARGUMENT],
			],
		);
		const messages = response.failures.map((f) => f.message);
		assert.match(messages[0] as string, /runs\[1\]\.options\.delay: must not be negative/);
		assert.match(messages[1] as string, /runs\[2\]\.task_id.*nope/);
		assert.match(
			messages[2] as string,
			/runs\[3\]\.options\.tags\[1\]: must be 1 to 128 characters, got 129/,
		);
		assert.match(messages[3] as string, /runs\[4\]\.task_id: is required/);
	});
});
