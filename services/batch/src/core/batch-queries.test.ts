import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { migrate } from "../../../kit/src/index.js";
import { rowsReadBy, statementsRunBy } from "../../../kit/src/testing/rows-read.js";
import { createTestSchema, type TestSchema } from "../../../kit/src/testing/stores.js";
import { BATCH_MIGRATIONS } from "../batch-module.js";
import { itemsFrom } from "./batch-queries.js";

describe("a batch's items read page by page", () => {
	let db: TestSchema;

	before(async () => {
		db = await createTestSchema("batch_pages");
		await migrate({ pool: db.pool, schema: db.schema, directory: BATCH_MIGRATIONS });
		// No statistics, and none taken during the test: what the planner knows right after
		// a large batch is loaded into a new table.
		await db.pool.query("ALTER TABLE batch_items SET (autovacuum_enabled = false)");
	});

	after(async () => {
		await db?.drop();
	});

	async function insertItems(batchId: string, indexes: number[]): Promise<void> {
		await db.pool.query(
			`INSERT INTO batch_items (batch_id, item_index, run_id, task_id, status)
			SELECT $1, i, $1 || '_run_' || i, 't', 'QUEUED' FROM unnest($2::int[]) AS i`,
			[batchId, indexes],
		);
	}

	async function readAll(batchId: string, pageSize: number) {
		const indexes: number[] = [];
		let rowsRead = 0;
		let from = 0;
		for (;;) {
			let page: Awaited<ReturnType<typeof itemsFrom>> = [];
			const statements = await statementsRunBy(db.pool, async () => {
				page = await itemsFrom(db.pool, batchId, from, pageSize);
			});
			for (const s of statements) rowsRead += await rowsReadBy(db.pool, s);
			indexes.push(...page.map((row) => row.item_index));
			if (page.length < pageSize) return { indexes, rowsRead };
			from = (page.at(-1)?.item_index ?? 0) + 1;
		}
	}

	test("each page reads its own rows, not the rest of a large batch", async () => {
		const n = 20_000;
		await insertItems(
			"large_batch",
			Array.from({ length: n }, (_, i) => i),
		);
		const { indexes, rowsRead } = await readAll("large_batch", 1_000);
		assert.deepEqual(
			indexes,
			Array.from({ length: n }, (_, i) => i),
		);
		// 21 pages of up to 1,000 rows (the last, empty, asked twice). Reading from each
		// page's start to the batch's end and sorting would visit about 210,000.
		assert.ok(rowsRead <= n + 1_000, `${rowsRead} rows read for ${n} items`);
	});

	test("items still arriving out of order: a page skips the gaps and stops at the end", async () => {
		const present = [0, 1, 2, 5, 6, 9, 10, 11, 12, 20];
		await insertItems("gappy_batch", present);
		assert.deepEqual((await readAll("gappy_batch", 4)).indexes, present);
		assert.deepEqual(
			(await itemsFrom(db.pool, "gappy_batch", 3, 4)).map((r) => r.item_index),
			[5, 6, 9, 10],
		);
		assert.deepEqual(await itemsFrom(db.pool, "gappy_batch", 21, 4), []);
	});
});
