import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeReceipt, encodeReceipt } from "./receipt.js";

describe("receipts", () => {
	test("a receipt decodes back to its environment, message and token", () => {
		const parts = { environmentId: "env:prod", messageId: "run/123@a", token: "x9.4" };
		assert.deepEqual(decodeReceipt(encodeReceipt(parts)), parts);
	});

	test("text that is not a receipt decodes to nothing", () => {
		for (const bad of ["", "abc", "a|b", "|b|c", "a||c", "a|b|", "a|b|c|d"]) {
			assert.equal(decodeReceipt(bad), undefined, bad);
		}
	});
});
