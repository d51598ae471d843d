import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createTestSchema, type TestSchema } from "../testing/stores.js";
import { migrate } from "./migrate.js";

const directory = fileURLToPath(new URL("../testing/fixtures/migrations", import.meta.url));

describe("migrations runner", () => {
	let db: TestSchema;
	before(async () => {
		db = await createTestSchema("kit_migrate");
	});
	after(() => db.drop());

	test("applies numbered SQL files in order inside the service's schema, once", async () => {
		const first = await migrate({ pool: db.pool, schema: db.schema, directory });
		assert.deepEqual(first, ["001_create_widgets", "002_index_widget_names"]);

		const tables = await db.pool.query<{ table_name: string }>(
			"SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
			[db.schema],
		);
		assert.deepEqual(
			tables.rows.map((r) => r.table_name),
			["schema_migrations", "widgets"],
		);
		await db.pool.query("INSERT INTO widgets (name) VALUES ('a')");
		await assert.rejects(db.pool.query("INSERT INTO widgets (name) VALUES ('a')"), /widgets_name_key/);

		const second = await migrate({ pool: db.pool, schema: db.schema, directory });
		assert.deepEqual(second, []);
	});
});

describe("migrations started together", () => {
	let dbs: TestSchema[] = [];
	before(async () => {
		dbs = await Promise.all([createTestSchema("kit_migrate_a"), createTestSchema("kit_migrate_b")]);
	});
	after(async () => {
		for (const db of dbs) await db.drop();
	});

	test("replicas of one schema and other schemas migrating at once all succeed, each schema once", async () => {
		const [a, b] = dbs as [TestSchema, TestSchema];
		const results = await Promise.all([
			migrate({ pool: a.pool, schema: a.schema, directory }),
			migrate({ pool: a.pool, schema: a.schema, directory }),
			migrate({ pool: b.pool, schema: b.schema, directory }),
		]);
		const appliedToA = [...(results[0] ?? []), ...(results[1] ?? [])];
		assert.deepEqual(appliedToA.sort(), ["001_create_widgets", "002_index_widget_names"]);
		assert.deepEqual(results[2], ["001_create_widgets", "002_index_widget_names"]);
	});
});
