import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BoundedQueue } from "./bounded-queue.js";

describe("BoundedQueue", () => {
	test("drop_newest keeps what was queued and refuses the overflow, counting it", () => {
		const queue = new BoundedQueue<number>(3, "drop_newest");
		assert.equal(queue.push([1, 2]), 0);
		assert.equal(queue.push([3, 4, 5]), 2);
		assert.deepEqual(queue.drain(), [1, 2, 3]);
	});

	test("drop_oldest evicts from the head to make room for the newest, counting it", () => {
		const queue = new BoundedQueue<number>(3, "drop_oldest");
		queue.push([1, 2, 3]);
		assert.equal(queue.push([4, 5]), 2);
		assert.deepEqual(queue.take(10), [3, 4, 5]);
		assert.equal(queue.push([6, 7, 8, 9, 10]), 2);
		assert.deepEqual(queue.drain(), [8, 9, 10]);
	});

	test("take returns items in order across many pushes and keeps the length right", () => {
		const queue = new BoundedQueue<number>(100_000, "drop_newest");
		for (let i = 0; i < 10_000; i++) queue.push([i]);
		const first = queue.take(6_000);
		assert.equal(first[0], 0);
		assert.equal(first.at(-1), 5_999);
		assert.equal(queue.length, 4_000);
		assert.deepEqual(queue.take(2), [6_000, 6_001]);
	});
});
