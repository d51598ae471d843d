import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BatchStatus } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	type BatchUnderTest,
	newEnvironment,
	type RunEngineProcesses,
	startBatch,
	startRunEngine,
	TestWorker,
} from "../testing/batch-stack.js";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("BatchService over gRPC", () => {
	let engine: RunEngineProcesses;
	let batch: BatchUnderTest;

	before(async () => {
		engine = await startRunEngine();
		batch = await startBatch(engine);
	});

	after(async () => {
		await batch?.close();
		await engine?.close();
	});

	test("an inline batch is sealed at once and completes when every child is final", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(engine, environmentId, ["child"]);
		const { batch: created } = await batch.client.createBatch({
			environmentId,
			items: [0, 1, 2].map((i) => ({ taskId: "child", payload: json({ i }) })),
		});
		assert.equal(created?.status, BatchStatus.PROCESSING);
		assert.equal(created?.sealed, true);
		assert.equal(created?.createdItemCount, 3);
		const started = await worker.start(3);
		assert.equal(started.length, 3);
		await worker.complete(started[0]?.attemptId ?? "", "a");
		await worker.complete(started[1]?.attemptId ?? "", "b");
		await worker.fail(started[2]?.attemptId ?? "", "no");
		let last: BatchStatus | undefined;
		for await (const message of batch.client.waitForBatch({ environmentId, batchId: created?.id ?? "" })) {
			last = message.batch?.status;
		}
		assert.equal(last, BatchStatus.COMPLETED);
		const { batch: done } = await batch.client.getBatch({ environmentId, batchId: created?.id ?? "" });
		assert.deepEqual(
			[done?.finalItemCount, done?.completedItemCount, done?.failedItemCount],
			[3, 2, 1],
		);
		const { items } = await batch.client.listBatchItems({ environmentId, batchId: created?.id ?? "" });
		assert.deepEqual(
			items.map((i) => i.index),
			[0, 1, 2],
		);
		assert.equal(items.filter((i) => i.status === RunStatus.FAILED).length, 1);
	});
});
