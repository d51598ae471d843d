import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import type pg from "pg";
import { createTestSchema, type TestSchema } from "../testing/stores.js";
import { copyRowsOut } from "./copy-to-stdout.js";

describe("copyRowsOut", () => {
	let schema: TestSchema;
	let client: pg.PoolClient;
	before(async () => {
		schema = await createTestSchema("copy_to_stdout");
		client = await schema.pool.connect();
		await client.query("CREATE TABLE t (n int4, k int2, b bytea, s text)");
	});
	after(async () => {
		client?.release();
		await schema?.drop();
	});

	test("returns every row in order with each field's stored bytes, NULL as null", async () => {
		// Values of several MiB arrive over many socket reads, where pg reuses its read buffer.
		const large = [randomBytes(3 * 1024 * 1024), randomBytes(70_000), Buffer.alloc(0)];
		await client.query("TRUNCATE t");
		for (const [index, bytes] of large.entries()) {
			await client.query("INSERT INTO t VALUES ($1, $2, $3, $4)", [
				index,
				index - 5,
				bytes,
				`héllo ${index}`,
			]);
		}
		await client.query("INSERT INTO t VALUES (NULL, NULL, NULL, NULL)");
		const rows = await copyRowsOut(client, "SELECT n, k, b, s FROM t ORDER BY n NULLS LAST");
		assert.equal(rows.length, 4);
		for (const [index, bytes] of large.entries()) {
			const [n, k, b, s] = rows[index] as Array<Buffer>;
			assert.equal(n?.readInt32BE(0), index);
			assert.equal(k?.readInt16BE(0), index - 5);
			assert.ok(b?.equals(bytes), `row ${index}'s bytea differs`);
			assert.equal(s?.toString("utf8"), `héllo ${index}`);
		}
		assert.deepEqual(rows[3], [null, null, null, null]);
		assert.deepEqual(await copyRowsOut(client, "SELECT n FROM t WHERE false"), []);
	});

	test("a query that fails rejects with PostgreSQL's error and leaves the client usable", async () => {
		await assert.rejects(copyRowsOut(client, "SELECT no_such_column FROM t"), /no_such_column/);
		await assert.rejects(
			copyRowsOut(client, "SELECT 1 / (n - 1) FROM generate_series(0, 3) AS n ORDER BY n DESC"),
			/division by zero/,
		);
		const { rows } = await client.query<{ one: number }>("SELECT 1 AS one");
		assert.equal(rows[0]?.one, 1);
	});
});
