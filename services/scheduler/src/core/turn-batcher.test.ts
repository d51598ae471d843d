import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TurnBatcher } from "./turn-batcher.js";

describe("turn batcher", () => {
	test("calls of one event-loop turn run as one batch, in call order, each getting its own output", async () => {
		const batches: number[][] = [];
		const batcher = new TurnBatcher(async (inputs: number[]) => {
			batches.push(inputs);
			return inputs.map((n) => n * 10);
		}, 100);
		const first = await Promise.all([1, 2, 3].map((n) => batcher.call(n)));
		const second = await batcher.call(4);
		assert.deepEqual(first, [10, 20, 30]);
		assert.equal(second, 40);
		assert.deepEqual(batches, [[1, 2, 3], [4]]);
	});

	test("a turn with more calls than the batch limit is split", async () => {
		const batches: number[][] = [];
		const batcher = new TurnBatcher(async (inputs: number[]) => {
			batches.push(inputs);
			return inputs;
		}, 2);
		assert.deepEqual(await Promise.all([1, 2, 3, 4, 5].map((n) => batcher.call(n))), [1, 2, 3, 4, 5]);
		assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
	});

	test("a failed batch is run again call by call, so only the failing call fails", async () => {
		const batches: number[][] = [];
		const batcher = new TurnBatcher(async (inputs: number[]) => {
			batches.push(inputs);
			if (inputs.includes(2)) throw new Error("two is refused");
			return inputs.map((n) => -n);
		}, 100);
		const outcomes = await Promise.allSettled([1, 2, 3].map((n) => batcher.call(n)));
		assert.deepEqual(
			outcomes.map((o) => (o.status === "fulfilled" ? o.value : (o.reason as Error).message)),
			[-1, "two is refused", -3],
		);
		assert.deepEqual(batches, [[1, 2, 3], [1], [2], [3]]);
	});

	test("with an in-flight limit, calls made while batches run wait and go together in the next batch", async () => {
		const batches: number[][] = [];
		const gates: (() => void)[] = [];
		const batcher = new TurnBatcher(
			async (inputs: number[]) => {
				batches.push(inputs);
				await new Promise<void>((resolve) => gates.push(resolve));
				return inputs;
			},
			100,
			1,
		);
		const first = batcher.call(1);
		await new Promise((r) => setImmediate(r));
		// The first batch is running: these three wait for it, over several turns.
		const waiting = [batcher.call(2), batcher.call(3)];
		await new Promise((r) => setImmediate(r));
		waiting.push(batcher.call(4));
		await new Promise((r) => setImmediate(r));
		assert.deepEqual(batches, [[1]]);
		gates.shift()?.();
		assert.equal(await first, 1);
		await new Promise((r) => setImmediate(r));
		assert.deepEqual(batches, [[1], [2, 3, 4]]);
		gates.shift()?.();
		assert.deepEqual(await Promise.all(waiting), [2, 3, 4]);
	});
});
