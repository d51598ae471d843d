import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { createTestSchema, type TestSchema } from "../testing/stores.js";
import { packBytes, packTexts } from "./packed-bytes.js";

describe("packBytes / packTexts", () => {
	let schema: TestSchema;
	before(async () => {
		schema = await createTestSchema("packed_bytes");
	});
	after(async () => {
		await schema?.drop();
	});

	test("PostgreSQL slices every value back out exactly, missing ones as NULL", async () => {
		const values = [randomBytes(70_000), null, Buffer.alloc(0), Buffer.from([0, 255, 92, 34]), undefined];
		const packed = packBytes(values);
		assert.equal(packed.bytes.byteLength, 70_004);
		const { rows } = await schema.pool.query<{ n: string; v: Buffer | null }>(
			`SELECT n, substring($1::bytea FROM s FOR l) AS v
			 FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS u(s, l, n) ORDER BY n`,
			[packed.bytes, packed.starts, packed.lengths],
		);
		assert.equal(rows.length, values.length);
		for (const [i, value] of values.entries()) {
			const got = rows[i]?.v;
			if (value == null) assert.equal(got, null, `value ${i} should be NULL`);
			else assert.ok(got?.equals(value), `value ${i} differs`);
		}
	});

	test("texts come back as the same strings, multi-byte characters included", async () => {
		const values = ["héllo ✓ 𝄞", null, "", "x".repeat(100_000), 'quote " and \\ backslash'];
		const packed = packTexts(values);
		const { rows } = await schema.pool.query<{ v: string | null }>(
			`SELECT convert_from(substring($1::bytea FROM s FOR l), 'UTF8') AS v
			 FROM unnest($2::int[], $3::int[]) WITH ORDINALITY AS u(s, l, n) ORDER BY n`,
			[packed.bytes, packed.starts, packed.lengths],
		);
		assert.deepEqual(
			rows.map((r) => r.v),
			values,
		);
	});
});
