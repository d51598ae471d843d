import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { migrate } from "../../../kit/src/index.js";
import { inTransaction } from "../../../kit/src/postgres/transaction.js";
import { createTestSchema, type TestSchema } from "../../../kit/src/testing/stores.js";
import { BATCH_MIGRATIONS } from "../batch-module.js";
import { consecutiveRuns } from "./ingestion-session.js";
import { recordItems } from "./item-recorder.js";
import { recordOutcomes } from "./outcome-recorder.js";
import type { CreatedChild } from "./types.js";

describe("batch counting in PostgreSQL", () => {
	let db: TestSchema;
	const now = new Date();
	let seq = 0;

	before(async () => {
		db = await createTestSchema("batch_count");
		await migrate({ pool: db.pool, schema: db.schema, directory: BATCH_MIGRATIONS });
	});

	after(async () => {
		await db?.drop();
	});

	async function newBatch(expected: number): Promise<string> {
		const id = `batch_test_${seq++}`;
		await db.pool.query(
			`INSERT INTO batches (id, environment_id, status, strategy, expected_item_count, created_at, seal_deadline)
			VALUES ($1, 'env', 'PENDING', 'PARALLEL', $2, $3, $3)`,
			[id, expected, now],
		);
		return id;
	}

	const child = (batchId: string, index: number, status = "QUEUED"): CreatedChild => ({
		index,
		runId: `${batchId}_run_${index}`,
		status,
		cached: false,
		runBatchId: batchId,
		runBatchIndex: index,
	});

	const record = (batchId: string, children: CreatedChild[]) =>
		inTransaction(db.pool, (client) =>
			recordItems(client, { batchId, children: children.map((c) => ({ child: c, taskId: "t" })), now }),
		);

	const outcome = (batchId: string, index: number, status = "COMPLETED") => ({
		runId: `${batchId}_run_${index}`,
		batchId,
		batchIndex: index,
		status,
	});

	const apply = (outcomes: ReturnType<typeof outcome>[]) =>
		inTransaction(db.pool, (client) => recordOutcomes(client, outcomes, { now, keepUnmatched: true }));

	async function counts(batchId: string) {
		const { rows } = await db.pool.query(
			"SELECT status, sealed, created_item_count, final_item_count, completed_item_count, failed_item_count FROM batches WHERE id = $1",
			[batchId],
		);
		return rows[0];
	}

	test("a child that finishes before its item is recorded is counted when the item arrives", async () => {
		const batchId = await newBatch(2);
		await record(batchId, [child(batchId, 0)]);
		const early = await apply([outcome(batchId, 0), outcome(batchId, 1, "FAILED")]);
		assert.deepEqual(early.completed, []);
		assert.equal((await counts(batchId)).status, "PENDING");
		const completed = await record(batchId, [child(batchId, 1)]);
		assert.deepEqual(
			completed.map((b) => b.id),
			[batchId],
		);
		assert.deepEqual(await counts(batchId), {
			status: "COMPLETED",
			sealed: true,
			created_item_count: 2,
			final_item_count: 2,
			completed_item_count: 1,
			failed_item_count: 1,
		});
	});

	test("an outcome read twice and an item recorded twice count once", async () => {
		const batchId = await newBatch(2);
		await record(batchId, [child(batchId, 0), child(batchId, 1)]);
		await record(batchId, [child(batchId, 1)]);
		await apply([outcome(batchId, 0)]);
		await apply([outcome(batchId, 0)]);
		const row = await counts(batchId);
		assert.deepEqual([row.created_item_count, row.final_item_count, row.status], [2, 1, "PROCESSING"]);
		const { rows } = await db.pool.query(
			"SELECT count(*)::int AS n FROM early_outcomes WHERE batch_id = $1",
			[batchId],
		);
		assert.equal(rows[0].n, 0);
	});

	test("an outcome of a batch this service does not hold is not kept", async () => {
		await apply([outcome("batch_elsewhere", 0)]);
		const { rows } = await db.pool.query(
			"SELECT count(*)::int AS n FROM early_outcomes WHERE batch_id = 'batch_elsewhere'",
		);
		assert.equal(rows[0].n, 0);
	});

	test("a batch completes exactly once when its last outcomes are applied concurrently", async () => {
		const batchId = await newBatch(20);
		await record(
			batchId,
			Array.from({ length: 20 }, (_, i) => child(batchId, i)),
		);
		const results = await Promise.all(Array.from({ length: 20 }, (_, i) => apply([outcome(batchId, i)])));
		assert.equal(results.flatMap((r) => r.completed).length, 1);
		assert.deepEqual(
			[(await counts(batchId)).final_item_count, (await counts(batchId)).status],
			[20, "COMPLETED"],
		);
	});

	test("a batch whose items were all final when created completes as it is sealed", async () => {
		const batchId = await newBatch(2);
		const completed = await record(batchId, [child(batchId, 0, "COMPLETED"), child(batchId, 1, "CANCELED")]);
		assert.equal(completed.length, 1);
		assert.deepEqual(
			[(await counts(batchId)).completed_item_count, (await counts(batchId)).failed_item_count],
			[1, 1],
		);
	});

	test("items of a batch that does not exist are refused and nothing is stored", async () => {
		await assert.rejects(record("batch_missing", [child("batch_missing", 0), child("batch_missing", 1)]), {
			message: /batch "batch_missing" does not exist/,
		});
		const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1", [
			"batch_missing",
		]);
		assert.equal(rows[0].n, 0);
	});

	test("items are cut into runs of consecutive indexes", () => {
		const items = [0, 1, 2, 5, 6, 9].map((index) => ({ index, taskId: "t", body: undefined }));
		assert.deepEqual(
			consecutiveRuns(items).map((run) => run.map((i) => i.index)),
			[[0, 1, 2], [5, 6], [9]],
		);
	});

	test("a chunk of many items, sent again whole and then half-new, is counted once per item", async () => {
		const batchId = await newBatch(300);
		const range = (from: number, to: number) =>
			Array.from({ length: to - from }, (_, k) =>
				child(batchId, from + k, (from + k) % 3 === 0 ? "COMPLETED" : "QUEUED"),
			);
		await record(batchId, range(0, 200));
		await record(batchId, range(0, 200));
		assert.equal((await counts(batchId)).created_item_count, 200);
		const completed = await record(batchId, range(100, 300));
		assert.deepEqual(completed, []);
		const { rows } = await db.pool.query("SELECT count(*)::int AS n FROM batch_items WHERE batch_id = $1", [
			batchId,
		]);
		assert.equal(rows[0].n, 300);
		assert.deepEqual(await counts(batchId), {
			status: "PROCESSING",
			sealed: true,
			created_item_count: 300,
			final_item_count: 100,
			completed_item_count: 100,
			failed_item_count: 0,
		});
	});
});
