import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { type Batch, BatchStatus } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { RunStatus, SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { testClient } from "../../../kit/src/testing/grpc.js";
import {
	batchSuite,
	newEnvironment,
	openStreamedBatch,
	startBatch,
	TestWorker,
} from "../testing/batch-stack.js";
import { chunk, header, ItemStream } from "../testing/item-stream.js";

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe("BatchService over gRPC", () => {
	const suite = batchSuite({ BATCH_MAX_PAYLOAD_BYTES: "1024" });

	function rejectsWith(code: Code, pattern: RegExp) {
		return (error: unknown) => {
			const e = ConnectError.from(error);
			assert.equal(e.code, code, e.rawMessage);
			assert.match(e.rawMessage, pattern);
			return true;
		};
	}

	async function finalBatch(environmentId: string, batchId: string) {
		let last: Batch | undefined;
		for await (const message of suite.batch.client.waitForBatch({ environmentId, batchId }))
			last = message.batch;
		return last as Batch;
	}

	test("an inline batch is sealed at once and completes when every child is final", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
		const { batch: created } = await suite.batch.client.createBatch({
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
		for await (const message of suite.batch.client.waitForBatch({
			environmentId,
			batchId: created?.id ?? "",
		})) {
			last = message.batch?.status;
		}
		assert.equal(last, BatchStatus.COMPLETED);
		const { batch: done } = await suite.batch.client.getBatch({ environmentId, batchId: created?.id ?? "" });
		assert.deepEqual([done?.finalItemCount, done?.completedItemCount, done?.failedItemCount], [3, 2, 1]);
		const firstPage = await suite.batch.client.listBatchItems({
			environmentId,
			batchId: created?.id ?? "",
			pageSize: 2,
		});
		const lastPage = await suite.batch.client.listBatchItems({
			environmentId,
			batchId: created?.id ?? "",
			pageSize: 2,
			pageToken: firstPage.nextPageToken,
		});
		assert.equal(lastPage.nextPageToken, "");
		const items = [...firstPage.items, ...lastPage.items];
		assert.deepEqual(
			items.map((i) => i.index),
			[0, 1, 2],
		);
		assert.equal(items.filter((i) => i.status === RunStatus.FAILED).length, 1);
	});
	test("a ListBatchItems page stops before its children's outputs pass 8 MiB and the next page goes on from there", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
		const { batch: created } = await suite.batch.client.createBatch({
			environmentId,
			items: [0, 1, 2, 3].map((i) => ({ taskId: "child", payload: json({ i }) })),
		});
		const batchId = created?.id ?? "";
		// Outputs of 2.5 MiB: three fit in 8 MiB, four would not.
		for (const run of await worker.start(4))
			await worker.complete(run.attemptId, "o".repeat(2.5 * 1024 * 1024));
		assert.equal((await finalBatch(environmentId, batchId)).status, BatchStatus.COMPLETED);
		const first = await suite.batch.client.listBatchItems({ environmentId, batchId, pageSize: 10 });
		assert.deepEqual(
			first.items.map((i) => [i.index, i.status, i.output.byteLength]),
			[0, 1, 2].map((index) => [index, RunStatus.COMPLETED, 2.5 * 1024 * 1024 + 2]),
		);
		assert.equal(first.nextPageToken, "3");
		const rest = await suite.batch.client.listBatchItems({
			environmentId,
			batchId,
			pageSize: 10,
			pageToken: first.nextPageToken,
		});
		assert.deepEqual(
			rest.items.map((i) => i.index),
			[3],
		);
		assert.equal(rest.nextPageToken, "");
	});

	test("a ListBatchItems page token no response gave is INVALID_ARGUMENT naming page_token; past the last item is an empty last page", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		const { batch } = await suite.batch.client.createBatch({
			environmentId,
			items: [0, 1].map((i) => ({ taskId: "child", payload: json({ i }) })),
		});
		const batchId = batch?.id ?? "";
		for (const pageToken of ["-1", "1.5", "abc", "2147483648", "99999999999999999999"]) {
			await assert.rejects(
				suite.batch.client.listBatchItems({ environmentId, batchId, pageToken }),
				rejectsWith(Code.InvalidArgument, /page_token: is not a token from a previous response/),
				pageToken,
			);
		}
		for (const pageToken of ["2", "2147483647"]) {
			const page = await suite.batch.client.listBatchItems({ environmentId, batchId, pageToken });
			assert.deepEqual([page.items.length, page.nextPageToken], [0, ""], pageToken);
		}
	});

	test("a retried CreateBatch with the same key returns the first batch and creates no second set of children", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		const request = {
			environmentId,
			idempotencyKey: "nightly-import",
			items: [0, 1].map((i) => ({ taskId: "child", payload: json({ i }) })),
		};
		const first = await suite.batch.client.createBatch(request);
		const second = await suite.batch.client.createBatch(request);
		assert.equal(second.batch?.id, first.batch?.id);
		assert.deepEqual([first.batch?.cached, second.batch?.cached], [false, true]);
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		const { runs } = await scheduler.listRuns({ environmentId, batchId: first.batch?.id ?? "" });
		assert.equal(runs.length, 2);
	});

	test("a retried CreateBatch with the same key and other inline items returns the first batch untouched", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child", "other"]);
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		const items = (taskId: string, count: number) =>
			Array.from({ length: count }, (_, i) => ({ taskId, payload: json({ i }) }));

		// Inline items for a streamed batch: not its children, and it is not sealed by them.
		const { batch: streamed } = await suite.batch.client.createBatch({
			environmentId,
			idempotencyKey: "K1",
			expectedItemCount: 2,
		});
		const streamedId = streamed?.id ?? "";
		const retry = await suite.batch.client.createBatch({
			environmentId,
			idempotencyKey: "K1",
			items: items("other", 3),
		});
		assert.deepEqual(
			[
				retry.batch?.id,
				retry.batch?.cached,
				retry.batch?.status,
				retry.batch?.sealed,
				retry.batch?.createdItemCount,
			],
			[streamedId, true, BatchStatus.PENDING, false, 0],
		);
		assert.deepEqual((await scheduler.listRuns({ environmentId, batchId: streamedId })).runs, []);
		// The first batch's owner still streams its own items into it.
		const stream = new ItemStream();
		stream.push(header(environmentId, streamedId));
		stream.push(chunk("child", 0, 2));
		stream.end();
		const sealed = await suite.batch.client.streamBatchItems(stream);
		assert.deepEqual([sealed.batch?.sealed, sealed.batch?.createdItemCount, sealed.failures], [true, 2, []]);
		const { items: listed } = await suite.batch.client.listBatchItems({ environmentId, batchId: streamedId });
		assert.deepEqual(
			listed.map((i) => [i.index, i.taskId]),
			[
				[0, "child"],
				[1, "child"],
			],
		);

		// A retry whose item the scheduler would refuse does not fail the first batch.
		const { batch: waiting } = await suite.batch.client.createBatch({
			environmentId,
			idempotencyKey: "K2",
			expectedItemCount: 5,
		});
		const refusedRetry = await suite.batch.client.createBatch({
			environmentId,
			idempotencyKey: "K2",
			items: [{ taskId: "no-such-task" }],
		});
		assert.deepEqual([refusedRetry.batch?.id, refusedRetry.batch?.cached], [waiting?.id, true]);
		const { batch: after } = await suite.batch.client.getBatch({ environmentId, batchId: waiting?.id ?? "" });
		assert.deepEqual(
			[after?.status, after?.failureReason, after?.createdItemCount],
			[BatchStatus.PENDING, "", 0],
		);
	});

	test("a retried inline create whose first call died half-way carries on only when it sends the same items", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		const request = (taskId: string) => ({
			environmentId,
			idempotencyKey: "half-way",
			items: [0, 1].map((i) => ({ taskId, payload: json({ i }) })),
		});
		// A replica that cannot reach the scheduler records the batch and fails before any item exists.
		const cut = await startBatch(suite.engine, { TASKMESH_SCHEDULER_URL: "http://127.0.0.1:1" }, suite.batch);
		try {
			await assert.rejects(cut.client.createBatch(request("child")), rejectsWith(Code.Unavailable, /./));
		} finally {
			await cut.close();
		}
		const other = await suite.batch.client.createBatch(request("other"));
		assert.deepEqual(
			[other.batch?.cached, other.batch?.status, other.batch?.createdItemCount],
			[true, BatchStatus.PENDING, 0],
		);
		const same = await suite.batch.client.createBatch(request("child"));
		assert.deepEqual(
			[same.batch?.id, same.batch?.cached, same.batch?.sealed, same.batch?.createdItemCount],
			[other.batch?.id, true, true, 2],
		);
	});

	test("an item key whose earlier run failed returns that run with its real FAILED status and counts as failed", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
		const keyed = { taskId: "child", payload: json({ i: 0 }), options: { idempotencyKey: "charge-42" } };
		const { batch: a } = await suite.batch.client.createBatch({ environmentId, items: [keyed] });
		const [run] = await worker.start(1);
		await worker.fail(run?.attemptId ?? "", "card declined");
		assert.equal((await finalBatch(environmentId, a?.id ?? "")).failedItemCount, 1);

		const { batch: b } = await suite.batch.client.createBatch({
			environmentId,
			items: [keyed, { taskId: "child", payload: json({ i: 1 }) }],
		});
		const { items } = await suite.batch.client.listBatchItems({ environmentId, batchId: b?.id ?? "" });
		assert.equal(items[0]?.cached, true);
		assert.equal(items[0]?.runId, run?.runId);
		assert.equal(items[0]?.status, RunStatus.FAILED);
		assert.equal(items[0]?.error?.message, "card declined");
		assert.equal(items[1]?.cached, false);
		await worker.finish(1, "child");
		const done = await finalBatch(environmentId, b?.id ?? "");
		assert.deepEqual(
			[done.status, done.completedItemCount, done.failedItemCount],
			[BatchStatus.COMPLETED, 1, 1],
		);
	});

	test("an item key of a run still executing outside any batch completes the batch when that run ends", async () => {
		const environmentId = newEnvironment();
		const worker = await TestWorker.register(suite.engine, environmentId, ["child"]);
		await worker.scheduler.triggerRun({
			environmentId,
			taskId: "child",
			payload: json({ solo: true }),
			options: { idempotencyKey: "report-7" },
		});
		const [solo] = await worker.start(1);
		const { batch: b } = await suite.batch.client.createBatch({
			environmentId,
			items: [{ taskId: "child", payload: json({ i: 0 }), options: { idempotencyKey: "report-7" } }],
		});
		assert.equal(b?.status, BatchStatus.PROCESSING);
		await worker.complete(solo?.attemptId ?? "", { solo: "done" });
		const done = await finalBatch(environmentId, b?.id ?? "");
		assert.deepEqual([done.status, done.completedItemCount], [BatchStatus.COMPLETED, 1]);
	});

	test("a batch with no items, or more inline items than the limit, is refused", async () => {
		const environmentId = newEnvironment();
		await assert.rejects(
			suite.batch.client.createBatch({ environmentId }),
			rejectsWith(Code.InvalidArgument, /at least one item/),
		);
		await assert.rejects(
			suite.batch.client.createBatch({
				environmentId,
				items: Array.from({ length: 1001 }, () => ({ taskId: "child" })),
			}),
			rejectsWith(Code.InvalidArgument, /1001 items is over the limit of 1000 \(BATCH_MAX_INLINE_ITEMS\)/),
		);
	});

	test("a bad option or an oversized payload is reported with its item index before anything is created", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		await assert.rejects(
			suite.batch.client.createBatch({
				environmentId,
				idempotencyKey: "bad-input",
				items: [
					{ taskId: "child" },
					{ taskId: "child", payload: new Uint8Array(2048) },
					{ taskId: "child", options: { tags: [""] } },
				],
			}),
			rejectsWith(
				Code.InvalidArgument,
				/items\[1\]\.payload: 2048 bytes is over the limit of 1024 bytes \(BATCH_MAX_PAYLOAD_BYTES\); items\[2\]\.options\.tags\[0\]: must be 1 to 128 characters/,
			),
		);
		// A key kept past 100 years would expire after any date the stores hold.
		await assert.rejects(
			suite.batch.client.createBatch({
				environmentId,
				idempotencyKey: "forever",
				idempotencyKeyTtl: { seconds: 10_000_000_000_000n },
				items: [{ taskId: "child" }],
			}),
			rejectsWith(
				Code.InvalidArgument,
				/idempotency_key_ttl: 10000000000000000 ms is over the limit of 3155760000000 ms \(100 years\)/,
			),
		);
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		assert.deepEqual((await scheduler.listRuns({ environmentId })).runs, []);
	});

	test("an unknown task fails the inline batch with the item's index and cancels the children already made", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		let batchId = "";
		await assert.rejects(
			suite.batch.client.createBatch({
				environmentId,
				items: [{ taskId: "child" }, { taskId: "no-such-task" }, { taskId: "child" }],
			}),
			(error: unknown) => {
				const e = ConnectError.from(error);
				assert.equal(e.code, Code.InvalidArgument);
				assert.match(e.rawMessage, /items\[1\]: task_id: task "no-such-task"/);
				assert.doesNotMatch(e.rawMessage, /runs\[/);
				batchId = /batch (batch_\w+) FAILED/.exec(e.rawMessage)?.[1] ?? "";
				return true;
			},
		);
		const { batch: failed } = await suite.batch.client.getBatch({ environmentId, batchId });
		assert.equal(failed?.status, BatchStatus.FAILED);
		assert.equal(failed?.sealed, false);
		assert.match(failed?.failureReason ?? "", /1 of 3 items were refused: items\[1\]/);
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		const { runs } = await scheduler.listRuns({ environmentId, batchId });
		assert.deepEqual(
			runs.map((r) => r.status),
			[RunStatus.CANCELED, RunStatus.CANCELED],
		);
	});

	test("a stream refuses items by index, stays unsealed, and seals once the refused item is sent again correctly", async () => {
		const { environmentId, batchId, stream: first } = await openStreamedBatch(suite, 3);
		first.push({
			kind: {
				case: "chunk",
				value: {
					items: [
						{ index: 0, item: { taskId: "child" } },
						{ index: 1, item: { taskId: "no-such-task" } },
						{ index: 2, item: { taskId: "child" } },
						{ index: 3, item: { taskId: "child" } },
					],
				},
			},
		});
		first.end();
		await assert.rejects(
			suite.batch.client.streamBatchItems(first),
			rejectsWith(Code.InvalidArgument, /is not sealed: 2 of 3 items exist, 2 refused/),
		);
		const { batch: pending } = await suite.batch.client.getBatch({ environmentId, batchId });
		assert.deepEqual([pending?.status, pending?.sealed], [BatchStatus.PENDING, false]);
		const second = new ItemStream();
		second.push(header(environmentId, batchId));
		second.push(chunk("child", 0, 3));
		second.end();
		const sealed = await suite.batch.client.streamBatchItems(second);
		assert.deepEqual([sealed.batch?.sealed, sealed.batch?.createdItemCount, sealed.failures], [true, 3, []]);
	});

	test("an item the scheduler refuses in a later chunk is named by its own index and field", async () => {
		const { stream } = await openStreamedBatch(suite, 1_600);
		stream.push(chunk("child", 0, 1_000));
		const later = Array.from({ length: 600 }, (_, k) => ({
			index: 1_000 + k,
			item: { taskId: k === 500 ? "no-such-task" : "child" },
		}));
		stream.push({ kind: { case: "chunk", value: { items: later } } });
		stream.end();
		const error = await suite.batch.client.streamBatchItems(stream).then(
			() => assert.fail("a batch with a refused item was sealed"),
			(e: unknown) => ConnectError.from(e),
		);
		assert.equal(error.code, Code.InvalidArgument);
		const violations = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
		assert.deepEqual(
			violations.map((v) => v.field),
			["items[1500]"],
		);
		assert.match(violations[0]?.description ?? "", /^task_id: task "no-such-task"/);
	});

	test("an index past expected_item_count sent to a sealed batch is refused by index; the batch is unchanged", async () => {
		const { environmentId, batchId, stream: first } = await openStreamedBatch(suite, 3);
		first.push(chunk("child", 0, 3));
		first.end();
		assert.equal((await suite.batch.client.streamBatchItems(first)).batch?.sealed, true);
		const again = new ItemStream();
		again.push(header(environmentId, batchId));
		again.push(chunk("child", 0, 5));
		again.end();
		const answer = await suite.batch.client.streamBatchItems(again);
		assert.deepEqual(
			answer.failures.map((f) => [f.index, f.code, f.message]),
			[3, 4].map((index) => [
				index,
				Code.InvalidArgument,
				`index: ${index} is not below expected_item_count 3`,
			]),
		);
		assert.deepEqual([answer.batch?.status, answer.batch?.createdItemCount], [BatchStatus.PROCESSING, 3]);
		const scheduler = testClient(SchedulerService, suite.engine.schedulerUrl);
		assert.equal((await scheduler.listRuns({ environmentId, batchId })).runs.length, 3);
	});

	test("valid items sent to a batch FAILED by its seal timeout are FAILED_PRECONDITION, not INVALID_ARGUMENT", async () => {
		const environmentId = newEnvironment();
		await TestWorker.register(suite.engine, environmentId, ["child"]);
		const { batch: created } = await suite.batch.client.createBatch({
			environmentId,
			expectedItemCount: 2,
			sealTimeout: { seconds: 0n, nanos: 1_000_000 },
		});
		const batchId = created?.id ?? "";
		assert.equal((await finalBatch(environmentId, batchId)).status, BatchStatus.FAILED);
		const stream = new ItemStream();
		stream.push(header(environmentId, batchId));
		stream.push(chunk("child", 0, 2));
		stream.end();
		const error = await suite.batch.client.streamBatchItems(stream).then(
			() => assert.fail("items for a FAILED batch were accepted"),
			(e: unknown) => ConnectError.from(e),
		);
		assert.equal(error.code, Code.FailedPrecondition, error.rawMessage);
		assert.match(error.rawMessage, /FAILED: not sealed by its deadline/);
		const violations = error.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
		assert.deepEqual(
			violations.map((v) => v.field),
			["items[0]", "items[1]"],
		);
		assert.match(violations[0]?.description ?? "", /it takes no more items/);
	});

	test("a message with neither a chunk nor a header after the header is INVALID_ARGUMENT naming kind", async () => {
		const { environmentId, batchId, stream } = await openStreamedBatch(suite, 1);
		stream.push({});
		stream.end();
		await assert.rejects(
			suite.batch.client.streamBatchItems(stream),
			rejectsWith(Code.InvalidArgument, /^kind: the message has neither a chunk nor a header$/),
		);
		const twice = new ItemStream();
		twice.push(header(environmentId, batchId));
		twice.push(header(environmentId, batchId));
		twice.end();
		await assert.rejects(
			suite.batch.client.streamBatchItems(twice),
			rejectsWith(Code.InvalidArgument, /^header: only the first message of the stream may be a header$/),
		);
	});

	test("a stream without a header, or for an unknown batch, is refused", async () => {
		const environmentId = newEnvironment();
		const headless = new ItemStream();
		headless.push(chunk("child", 0, 1));
		headless.end();
		await assert.rejects(
			suite.batch.client.streamBatchItems(headless),
			rejectsWith(Code.InvalidArgument, /must be the header/),
		);
		const unknown = new ItemStream();
		unknown.push(header(environmentId, "batch_missing"));
		unknown.end();
		await assert.rejects(
			suite.batch.client.streamBatchItems(unknown),
			rejectsWith(Code.NotFound, /batch_missing/),
		);
	});
});
