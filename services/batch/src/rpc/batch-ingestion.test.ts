import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BatchService, BatchStatus, ProcessingStrategy } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { testClient } from "../../../kit/src/testing/grpc.js";
import { type ServiceProcess, spawnServiceProcess } from "../../../kit/src/testing/process.js";
import { randomSuffix } from "../../../kit/src/testing/stores.js";
import {
	batchEnv,
	batchSuite,
	dropSchema,
	newEnvironment,
	openStreamedBatch,
	TestWorker,
} from "../testing/batch-stack.js";
import { chunk, eventually, header, ItemStream } from "../testing/item-stream.js";

describe("streamed ingestion", () => {
	const suite = batchSuite();

	/** Every child run of a batch, read from the scheduler, as batch indexes. */
	async function childIndexes(environmentId: string, batchId: string): Promise<number[]> {
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		const indexes: number[] = [];
		let pageToken = "";
		do {
			const page = await scheduler.listRuns({ environmentId, batchId, pageSize: 500, pageToken });
			indexes.push(...page.runs.map((r) => r.batchIndex));
			pageToken = page.nextPageToken;
		} while (pageToken !== "");
		return indexes.sort((a, b) => a - b);
	}

	test("a 10,000-item stream is sealed with one child per index", async () => {
		const { environmentId, batchId, stream } = await openStreamedBatch(suite, 10_000);
		// Sent out of order, with one chunk twice: indexes decide, a repeat is ignored.
		for (let from = 9_500; from >= 0; from -= 500) stream.push(chunk("child", from, from + 500));
		stream.push(chunk("child", 1_000, 1_500));
		stream.end();
		const answer = await suite.batch.client.streamBatchItems(stream);
		assert.deepEqual(
			[answer.batch?.status, answer.batch?.sealed, answer.batch?.createdItemCount, answer.failures],
			[BatchStatus.PROCESSING, true, 10_000, []],
		);
		assert.deepEqual(
			await childIndexes(environmentId, batchId),
			Array.from({ length: 10_000 }, (_, i) => i),
		);
	});

	test("a batch service killed mid-ingestion resumes on restart without duplicate children", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		const schema = `batch_${randomSuffix()}`;
		const env = { ...batchEnv(suite.engine, schema), TASKMESH_BATCH_PORT: "0", BATCH_CHUNK_SIZE: "200" };
		const spawn = async () => {
			const p = await spawnServiceProcess("services/batch/src/main.ts", { env, expectedServices: 1 });
			return {
				p,
				client: testClient(BatchService, `http://127.0.0.1:${[...p.ports.values()][0] as number}`),
			};
		};
		let running: ServiceProcess | undefined;
		try {
			const first = await spawn();
			running = first.p;
			const { batch: created } = await first.client.createBatch({
				environmentId,
				expectedItemCount: 3_000,
				strategy: ProcessingStrategy.SEQUENTIAL,
			});
			assert.equal(created?.strategy, ProcessingStrategy.SEQUENTIAL);
			const batchId = created?.id ?? "";
			const stream = new ItemStream();
			const cut = first.client.streamBatchItems(stream).catch((error: unknown) => error);
			stream.push(header(environmentId, batchId));
			for (let from = 0; from < 2_000; from += 200) stream.push(chunk("child", from, from + 200));
			await eventually(async () => {
				const { batch: b } = await first.client.getBatch({ environmentId, batchId });
				return (b?.createdItemCount ?? 0) >= 600 ? true : undefined;
			}, "600 items exist");
			first.p.child.kill("SIGKILL");
			await first.p.exited;
			assert.ok((await cut) instanceof Error, "the cut stream ends in an error");

			const second = await spawn();
			running = second.p;
			const { batch: halfway } = await second.client.getBatch({ environmentId, batchId });
			assert.equal(halfway?.status, BatchStatus.PENDING);
			const again = new ItemStream();
			again.push(header(environmentId, batchId));
			for (let from = 0; from < 3_000; from += 500) again.push(chunk("child", from, from + 500));
			again.end();
			const answer = await second.client.streamBatchItems(again);
			assert.deepEqual([answer.batch?.sealed, answer.batch?.createdItemCount], [true, 3_000]);
			assert.deepEqual(
				await childIndexes(environmentId, batchId),
				Array.from({ length: 3_000 }, (_, i) => i),
			);
		} finally {
			running?.child.kill("SIGTERM");
			await running?.exited;
			await dropSchema(suite.engine.databaseUrl, schema);
		}
	});
});
