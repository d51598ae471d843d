import assert from "node:assert/strict";
import { test } from "node:test";
import { backtrackingPaths } from "./pattern-cost.js";

const L = 16_384;

test("a pattern without quantifiers has one path per start position", () => {
	assert.equal(backtrackingPaths("abc", L), L);
});

test("each quantifier multiplies by the lengths it may take, an unbounded one up to the text", () => {
	assert.equal(backtrackingPaths("a{2,5}", L), L * 4);
	assert.equal(backtrackingPaths("a?", L), L * 2);
	assert.equal(backtrackingPaths("[a-z]{20,}x", L), L * (L - 20 + 1));
	assert.equal(backtrackingPaths(".*.*", L), L * (L + 1) * (L + 1));
	assert.equal(backtrackingPaths("a{3}", L), L);
});

test("quantifiers inside groups, alternatives and lookarounds count too", () => {
	assert.equal(backtrackingPaths("(?:a{1,3}|b{1,2})c", L), L * 3 * 2);
	assert.equal(backtrackingPaths("(?=a{1,4})(x)y?\\1", L), L * 4 * 2);
});
