import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTestSchema, type TestSchema } from "../testing/stores.js";
import { copyEncoded } from "./copy-from-stdin.js";
import { CopyWriter } from "./copy-writer.js";

describe("CopyWriter's binary COPY values, read back by PostgreSQL", () => {
	let schema: TestSchema;
	before(async () => {
		schema = await createTestSchema("copy_writer");
		await schema.pool.query(
			"CREATE TABLE t (n int, f float8, at timestamptz, tags text[], doc jsonb, b bytea, s text)",
		);
	});
	after(async () => {
		await schema.drop();
	});

	test("float8, timestamptz, text[] (empty, non-ASCII), jsonb, bytea and NULLs round-trip", async () => {
		const at = Date.UTC(2026, 10, 27, 6, 40, 1, 234);
		const before2000 = Date.UTC(1999, 11, 31, 23, 59, 59, 999);
		const w = new CopyWriter(16);
		w.row(7).int4(1).float8(0.25).timestamptz(at).textArray(["a", "tenant:7", "héllo ✓"]);
		w.jsonb('{"k":[1,2]}')
			.bytea(Buffer.from([0, 255, 10]))
			.text("x");
		w.row(7).int4(2).float8(-1e300).timestamptz(before2000).textArray([]).null().null().null();
		const client = await schema.pool.connect();
		try {
			assert.equal(await copyEncoded(client, "t", ["n", "f", "at", "tags", "doc", "b", "s"], w), 2);
		} finally {
			client.release();
		}
		const { rows } = await schema.pool.query("SELECT * FROM t ORDER BY n");
		assert.deepEqual(rows[0], {
			n: 1,
			f: 0.25,
			at: new Date(at),
			tags: ["a", "tenant:7", "héllo ✓"],
			doc: { k: [1, 2] },
			b: Buffer.from([0, 255, 10]),
			s: "x",
		});
		assert.deepEqual(rows[1], {
			n: 2,
			f: -1e300,
			at: new Date(before2000),
			tags: [],
			doc: null,
			b: null,
			s: null,
		});
	});
});
