import assert from "node:assert/strict";
import { test } from "node:test";
import { storableTaskError, TASK_ERROR_BOUNDS } from "./bounds.js";

const error = (message: string, stackTrace = "") => ({
	name: "Error",
	code: "E",
	message,
	stackTrace,
	retryable: true,
});

test("an error within its bounds is kept as it is", () => {
	const small = error("m".repeat(TASK_ERROR_BOUNDS.message), "s".repeat(TASK_ERROR_BOUNDS.stackTrace));
	assert.deepEqual(storableTaskError(small), small);
});

test("each part over its bound is cut there, the cut marked with how much went", () => {
	const big = {
		...error("m".repeat(100_000), "s".repeat(70_000)),
		name: "n".repeat(300),
		code: "c".repeat(257),
	};
	const cut = storableTaskError(big);
	assert.equal(cut.message, `${"m".repeat(16_384)}… [${100_000 - 16_384} more characters cut]`);
	assert.equal(cut.stackTrace, `${"s".repeat(65_536)}… [${70_000 - 65_536} more characters cut]`);
	assert.equal(cut.name, `${"n".repeat(256)}… [44 more characters cut]`);
	assert.equal(cut.code, `${"c".repeat(256)}… [1 more characters cut]`);
	assert.equal(cut.retryable, true, "other fields pass through");
});

test("a cut never splits a surrogate pair", () => {
	// The bound falls between the two halves of an emoji: the whole emoji goes.
	const message = `${"m".repeat(TASK_ERROR_BOUNDS.message - 1)}😀tail`;
	const cut = storableTaskError(error(message)).message;
	assert.equal(cut, `${"m".repeat(TASK_ERROR_BOUNDS.message - 1)}… [6 more characters cut]`);
	// No lone high surrogate is left where the cut was.
	assert.equal(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut), false);
});

test("a NUL in any part is replaced, so PostgreSQL can keep the error", () => {
	const kept = storableTaskError({
		name: "E\u0000",
		code: "\u0000",
		message: "a\u0000b\u0000",
		stackTrace: "at \u0000",
		retryable: false,
	});
	assert.deepEqual(
		[kept.name, kept.code, kept.message, kept.stackTrace],
		["E\uFFFD", "\uFFFD", "a\uFFFDb\uFFFD", "at \uFFFD"],
	);
});
