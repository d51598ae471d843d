import assert from "node:assert/strict";
import { test } from "node:test";
import { boundedTaskError, TASK_ERROR_BOUNDS } from "./bounds.js";

const error = (message: string, stackTrace = "") => ({
	name: "Error",
	code: "E",
	message,
	stackTrace,
	retryable: true,
});

test("an error within its bounds is kept as it is", () => {
	const small = error("m".repeat(TASK_ERROR_BOUNDS.message), "s".repeat(TASK_ERROR_BOUNDS.stackTrace));
	assert.deepEqual(boundedTaskError(small), small);
});

test("each part over its bound is cut there, the cut marked with how much went", () => {
	const big = {
		...error("m".repeat(100_000), "s".repeat(70_000)),
		name: "n".repeat(300),
		code: "c".repeat(257),
	};
	const cut = boundedTaskError(big);
	assert.equal(cut.message, `${"m".repeat(16_384)}… [${100_000 - 16_384} more characters cut]`);
	assert.equal(cut.stackTrace, `${"s".repeat(65_536)}… [${70_000 - 65_536} more characters cut]`);
	assert.equal(cut.name, `${"n".repeat(256)}… [44 more characters cut]`);
	assert.equal(cut.code, `${"c".repeat(256)}… [1 more characters cut]`);
	assert.equal(cut.retryable, true, "other fields pass through");
});

test("a cut never splits a surrogate pair", () => {
	// The bound falls between the two halves of an emoji: the whole emoji goes.
	const message = `${"m".repeat(TASK_ERROR_BOUNDS.message - 1)}😀tail`;
	const cut = boundedTaskError(error(message)).message;
	assert.equal(cut, `${"m".repeat(TASK_ERROR_BOUNDS.message - 1)}… [6 more characters cut]`);
	// No lone high surrogate is left where the cut was.
	assert.equal(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut), false);
});
