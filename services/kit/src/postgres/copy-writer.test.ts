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
		await schema.pool.query(
			"CREATE TABLE ints (k int, small int2, medium int4, big int8, huge int8, flag bool, doc jsonb, s text)",
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

	test("integers at their edges, negative ones, booleans and non-ASCII text and JSON round-trip", async () => {
		const w = new CopyWriter(16);
		const longJson = JSON.stringify({ text: "x".repeat(100) });
		w.row(8)
			.int4(1)
			.int2(-2)
			.int4(-1)
			.int8(-(2 ** 53 - 1))
			.int8Big(2n ** 63n - 1n)
			.bool(true);
		w.jsonb('{"ключ":"значение ✓"}').text("žluťoučký kůň 🐎");
		w.row(8)
			.int4(2)
			.int2(32767)
			.int4(2 ** 31 - 1)
			.int8(2 ** 40 + 5)
			.int8Big(-(2n ** 63n))
			.bool(false);
		w.jsonb(longJson).text("a".repeat(200));
		w.row(8)
			.int4(3)
			.int2(-32768)
			.int4(-(2 ** 31))
			.int8(-1)
			.int8Big(-5n)
			.bool(true)
			.jsonb("{}")
			.text("é");
		const client = await schema.pool.connect();
		try {
			assert.equal(
				await copyEncoded(client, "ints", ["k", "small", "medium", "big", "huge", "flag", "doc", "s"], w),
				3,
			);
		} finally {
			client.release();
		}
		const { rows } = await schema.pool.query(
			"SELECT k, small, medium, big::text, huge::text, flag, doc, s FROM ints ORDER BY k",
		);
		assert.deepEqual(rows, [
			{
				k: 1,
				small: -2,
				medium: -1,
				big: String(-(2 ** 53 - 1)),
				huge: String(2n ** 63n - 1n),
				flag: true,
				doc: { ключ: "значение ✓" },
				s: "žluťoučký kůň 🐎",
			},
			{
				k: 2,
				small: 32767,
				medium: 2 ** 31 - 1,
				big: String(2 ** 40 + 5),
				huge: String(-(2n ** 63n)),
				flag: false,
				doc: JSON.parse(longJson),
				s: "a".repeat(200),
			},
			{ k: 3, small: -32768, medium: -(2 ** 31), big: "-1", huge: "-5", flag: true, doc: {}, s: "é" },
		]);
	});

	test("a number past an int2 or int4 column's range is refused, not wrapped", () => {
		const w = new CopyWriter(16);
		w.row(2);
		assert.throws(() => w.int2(32768), /32768 does not fit an int2 column/);
		assert.throws(() => w.int2(-32769), /does not fit an int2 column/);
		assert.throws(() => w.int4(2 ** 31), /2147483648 does not fit an int4 column/);
		assert.throws(() => w.int4(-(2 ** 31) - 1), /does not fit an int4 column/);
	});
});
