import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BatchStatus, ProcessingStrategy } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	type BatchUnderTest,
	batchSuite,
	newEnvironment,
	type RunEngineProcesses,
	startBatch,
	startRunEngine,
	TestWorker,
} from "../testing/batch-stack.js";
import { chunk, eventually, header, ItemStream } from "../testing/item-stream.js";

const decode = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes)) as unknown;

describe("a parent waiting on a batch", () => {
	const suite = batchSuite();

	async function startParent(worker: TestWorker) {
		await worker.scheduler.triggerRun({
			environmentId: worker.environmentId,
			taskId: "parent",
			payload: new TextEncoder().encode("{}"),
		});
		const [parent] = await worker.start(1);
		assert.equal(parent?.taskId, "parent");
		return parent as NonNullable<typeof parent>;
	}

	async function resumeOf(worker: TestWorker, waitId: string) {
		// Bounded: a parent that is never resumed fails its test instead of hanging the suite.
		const signal = AbortSignal.timeout(30_000);
		for await (const message of worker.scheduler.waitForResume({ waitId }, { signal })) return message;
		throw new Error("WaitForResume ended without a message");
	}

	/** The parent is delivered again exactly once, as a resume carrying exactly one resolved wait. */
	async function assertResumedOnce(worker: TestWorker, parentRunId: string) {
		const parentOnly = (started: Awaited<ReturnType<TestWorker["start"]>>) =>
			started.filter((r) => r.runId === parentRunId).map((r) => [r.runId, r.resumed, r.resolvedWaits.length]);
		// Children queued before the resume may come first; take until the parent appears.
		const seen: unknown[] = [];
		for (let round = 0; round < 10 && seen.length === 0; round++) {
			seen.push(...parentOnly(await worker.start(10)));
		}
		assert.deepEqual(seen, [[parentRunId, true, 1]]);
		assert.deepEqual(parentOnly(await worker.start(10, 300)), []);
	}

	test("is not resumed while children finish at once and later chunks are still being created", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["parent", "child"]);
		const parent = await startParent(worker);
		const { batch: created } = await suite.batch.client.createBatch({
			environmentId,
			expectedItemCount: 300,
			strategy: ProcessingStrategy.PARALLEL,
			parent: { runId: parent.runId, attemptId: parent.attemptId, wait: true },
		});
		const batchId = created?.id ?? "";
		assert.notEqual(created?.waitId, "");
		const stream = new ItemStream();
		const answer = suite.batch.client.streamBatchItems(stream);
		stream.push(header(environmentId, batchId));
		for (const from of [0, 100]) {
			stream.push(chunk("child", from, from + 100));
			await eventually(
				async () => {
					const { batch: b } = await suite.batch.client.getBatch({ environmentId, batchId });
					return (b?.createdItemCount ?? 0) >= from + 100 ? true : undefined;
				},
				`${from + 100} items exist`,
			);
			// Every child that exists finishes before the rest of the batch is even sent.
			await worker.finish(100, "child");
			const { batch: now } = await eventually(
				async () => {
					const got = await suite.batch.client.getBatch({ environmentId, batchId });
					return got.batch?.finalItemCount === from + 100 ? got : undefined;
				},
				`${from + 100} children final`,
			);
			assert.equal(now?.status, BatchStatus.PENDING);
			assert.equal(now?.sealed, false);
			const { run } = await worker.scheduler.getRun({ environmentId, runId: parent.runId });
			assert.equal(run?.status, RunStatus.WAITING);
		}
		stream.push(chunk("child", 200, 300));
		stream.end();
		const sealed = await answer;
		assert.equal(sealed.batch?.sealed, true);
		assert.equal(sealed.batch?.createdItemCount, 300);
		assert.equal(sealed.batch?.status, BatchStatus.PROCESSING);
		const { run: stillWaiting } = await worker.scheduler.getRun({ environmentId, runId: parent.runId });
		assert.equal(stillWaiting?.status, RunStatus.WAITING);
		await worker.finish(100, "child");
		const resume = await resumeOf(worker, created?.waitId ?? "");
		assert.equal(resume.error, undefined);
		assert.deepEqual(
			resume.results.map((r) => decode(r.output)),
			Array.from({ length: 300 }, (_, i) => ({ i })),
		);
		await assertResumedOnce(worker, parent.runId);
		const { batch: done } = await suite.batch.client.getBatch({ environmentId, batchId });
		assert.equal(done?.status, BatchStatus.COMPLETED);
	});

	test("is resumed exactly once when children complete concurrently and two replicas track them", async () => {
		const replica = await startBatch(suite.engine, {}, suite.batch);
		try {
			const environmentId = newEnvironment();
			const worker = await TestWorker.register(suite.engine, environmentId, ["parent", "child"]);
			const parent = await startParent(worker);
			const { batch: created } = await replica.client.createBatch({
				environmentId,
				items: Array.from({ length: 40 }, (_, i) => ({
					taskId: "child",
					payload: new TextEncoder().encode(JSON.stringify({ i })),
				})),
				parent: { runId: parent.runId, attemptId: parent.attemptId, wait: true },
			});
			const children = await worker.start(40);
			assert.equal(children.length, 40);
			await Promise.all(
				children.map((c) =>
					c.payload.includes('"i":7}')
						? worker.fail(c.attemptId, "seven")
						: worker.complete(c.attemptId, JSON.parse(c.payload)),
				),
			);
			const resume = await resumeOf(worker, created?.waitId ?? "");
			assert.equal(resume.results.length, 40);
			resume.results.forEach((r, i) => {
				if (i === 7) {
					assert.equal(r.status, RunStatus.FAILED);
					assert.equal(r.error?.message, "seven");
				} else {
					assert.equal(r.status, RunStatus.COMPLETED);
					assert.deepEqual(decode(r.output), { i });
				}
			});
			await assertResumedOnce(worker, parent.runId);
			for (const client of [suite.batch.client, replica.client]) {
				const { batch: seen } = await client.getBatch({ environmentId, batchId: created?.id ?? "" });
				assert.deepEqual(
					[seen?.status, seen?.completedItemCount, seen?.failedItemCount],
					[BatchStatus.COMPLETED, 39, 1],
				);
			}
		} finally {
			await replica.close();
		}
	});

	/**
	 * A parent waits on three children whose outputs are `outputBytes` long; it must be
	 * resumed once, with BATCH_RESULTS_TOO_LARGE (saying `why`) and no results, while
	 * ListBatchItems still holds every result in item order.
	 */
	async function assertResultsTravelApart(
		engine: RunEngineProcesses,
		batches: BatchUnderTest,
		outputBytes: number,
		why: RegExp,
	) {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(engine, environmentId, ["parent", "child"]);
		const parent = await startParent(worker);
		const { batch: created } = await batches.client.createBatch({
			environmentId,
			items: [0, 1, 2].map((i) => ({
				taskId: "child",
				payload: new TextEncoder().encode(JSON.stringify({ i })),
			})),
			parent: { runId: parent.runId, attemptId: parent.attemptId, wait: true },
		});
		const batchId = created?.id ?? "";
		const children = await worker.start(3);
		for (const c of children)
			await worker.complete(c.attemptId, `${JSON.parse(c.payload).i}`.repeat(outputBytes));
		const resume = await resumeOf(worker, created?.waitId ?? "");
		assert.equal(resume.error?.code, "BATCH_RESULTS_TOO_LARGE");
		assert.match(resume.error?.message ?? "", why);
		assert.deepEqual(resume.results, []);
		assert.equal(resume.wait?.batchId, batchId);
		await assertResumedOnce(worker, parent.runId);
		const { items } = await batches.client.listBatchItems({ environmentId, batchId });
		assert.deepEqual(
			items.map((item) => [item.index, item.status, decode(item.output)]),
			[0, 1, 2].map((i) => [i, RunStatus.COMPLETED, `${i}`.repeat(outputBytes)]),
		);
	}

	test("results over the resume budget resume the parent with BATCH_RESULTS_TOO_LARGE and the batch id, and ListBatchItems holds them all", async () => {
		// Its own replica (its own schema) with a budget of 1 KiB: three 600-byte outputs pass it.
		const small = await startBatch(suite.engine, { BATCH_RESUME_RESULTS_MAX_BYTES: "1024" });
		try {
			await assertResultsTravelApart(
				suite.engine,
				small,
				600,
				/3 items, \d+ bytes\) are over the 1024 bytes a resume carries/,
			);
		} finally {
			await small.close();
		}
	});

	test("results the scheduler will not carry resume the parent with BATCH_RESULTS_TOO_LARGE, whatever this service's own budget", async () => {
		// A scheduler that lets one wait carry 1,024 + 1,024 bytes, behind a batch service
		// whose budget (4 MiB by default) knows nothing of that: three ~740-byte results pass
		// the scheduler's limit only.
		const engine = await startRunEngine({
			SCHEDULER_MAX_OUTPUT_BYTES: "1024",
			SCHEDULER_RESOLVED_WAITS_INLINE_BYTES: "1024",
		});
		const batches = await startBatch(engine);
		try {
			await assertResultsTravelApart(
				engine,
				batches,
				700,
				/3 items\) are more than the scheduler lets one resume carry \(scheduler ResolveWait: results: 3 results of \d+ bytes are over the 2048 bytes/,
			);
		} finally {
			await batches.close();
			await engine.close();
		}
	});

	test("a batch not sealed in time fails with its counts and resumes the parent with that error", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["parent", "child"]);
		const parent = await startParent(worker);
		const { batch: created } = await suite.batch.client.createBatch({
			environmentId,
			expectedItemCount: 5,
			sealTimeout: durationFromMs(1_000),
			parent: { runId: parent.runId, attemptId: parent.attemptId, wait: true },
		});
		const batchId = created?.id ?? "";
		const stream = new ItemStream();
		stream.push(header(environmentId, batchId));
		stream.push(chunk("child", 0, 3));
		stream.end();
		await assert.rejects(suite.batch.client.streamBatchItems(stream), (error: unknown) => {
			const e = ConnectError.from(error);
			assert.equal(e.code, Code.FailedPrecondition);
			assert.match(e.rawMessage, /3 of 5 items exist/);
			return true;
		});
		const statuses: BatchStatus[] = [];
		let reason = "";
		for await (const message of suite.batch.client.waitForBatch({ environmentId, batchId })) {
			statuses.push(message.batch?.status ?? BatchStatus.UNSPECIFIED);
			reason = message.batch?.failureReason ?? "";
		}
		assert.equal(statuses.at(-1), BatchStatus.FAILED);
		assert.match(reason, /3 of 5 items were created/);
		const resume = await resumeOf(worker, created?.waitId ?? "");
		assert.equal(resume.error?.code, "BATCH_NOT_SEALED");
		assert.match(resume.error?.message ?? "", /3 of 5/);
		assert.deepEqual(resume.results, []);
		await assertResumedOnce(worker, parent.runId);
	});

	test("WaitForBatch ends cleanly when its replica drains; the waiter carries on with another", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
		const { batch: created } = await suite.batch.client.createBatch({
			environmentId,
			items: [0, 1].map((i) => ({
				taskId: "child",
				payload: new TextEncoder().encode(JSON.stringify({ i })),
			})),
		});
		const batchId = created?.id ?? "";
		const replica = await startBatch(suite.engine, {}, suite.batch);
		const seenOnReplica: BatchStatus[] = [];
		const following = (async () => {
			for await (const m of replica.client.waitForBatch({ environmentId, batchId })) {
				seenOnReplica.push(m.batch?.status ?? BatchStatus.UNSPECIFIED);
			}
		})();
		while (seenOnReplica.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		const drainStarted = Date.now();
		await replica.close();
		await following; // ends without an error, before its batch is final
		const drainMs = Date.now() - drainStarted;
		// The replica's drain timeout is 5 s: a stream holding the drain would take all of it.
		assert.ok(drainMs < 2_000, `the drain took ${drainMs} ms`);
		assert.deepEqual(seenOnReplica, [BatchStatus.PROCESSING]);

		const seen: BatchStatus[] = [];
		const resumed = (async () => {
			for await (const m of suite.batch.client.waitForBatch({ environmentId, batchId })) {
				seen.push(m.batch?.status ?? BatchStatus.UNSPECIFIED);
			}
		})();
		await worker.finish(2, "child");
		await resumed;
		assert.equal(seen[0], BatchStatus.PROCESSING);
		assert.equal(seen.at(-1), BatchStatus.COMPLETED);
	});
});
