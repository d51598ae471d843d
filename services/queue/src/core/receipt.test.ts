import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeReceipt, encodeReceipt } from "./receipt.js";

describe("receipts", () => {
	test("a receipt decodes back to its environment, message and token", () => {
		const parts = { environmentId: "env:prod", messageId: "run/123@a", token: "Ab-_9z1k.4" };
		assert.deepEqual(decodeReceipt(encodeReceipt(parts)), parts);
	});

	test("text that is not a receipt decodes to nothing", () => {
		const badReceipts = [
			...["", "abc", "a|b", "|b|c", "a||c", "a|b|", "a|b|c|d"],
			// Parts outside the grammar they are made from: a control character in any part
			// would reach the scripts, which join fields with \x1f.
			...["env|m1|Ab9.1\x1fjunk", "env|m1\x1f0|Ab9.1", "e nv|m1|Ab9.1", "env|m1|Ab9", "env|m1|Ab9.x"],
		];
		for (const bad of badReceipts) {
			assert.equal(decodeReceipt(bad), undefined, JSON.stringify(bad));
		}
	});
});
