import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { coalesced } from "./coalesced-groups.js";

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

/** A source that yields these groups with a short pause before each. */
async function* paced<T>(groups: T[][], stopped?: { value: boolean }): AsyncGenerator<T[]> {
	try {
		for (const group of groups) {
			await tick();
			yield group;
		}
	} finally {
		if (stopped !== undefined) stopped.value = true;
	}
}

describe("coalesced", () => {
	test("joins the groups that arrived while the consumer was busy, in order", async () => {
		// The source yields its first group, then the rest at once and says so; the
		// consumer stays busy with the first until all of them have arrived.
		let rest = false;
		async function* source(): AsyncGenerator<number[]> {
			yield [1];
			yield [2];
			yield [3];
			yield [4, 5];
			rest = true;
		}
		const seen: number[][] = [];
		for await (const group of coalesced(source(), 100)) {
			seen.push(group);
			for (let i = 0; i < 400 && seen.length === 1 && !rest; i++) await tick();
		}
		assert.deepEqual(seen, [[1], [2, 3, 4, 5]]);
	});

	test("a group that arrives while the consumer waits is handed over whole, not its first item alone", async () => {
		// The second group comes only once the consumer holds the first and waits again.
		let tookFirst: () => void = () => {};
		const firstTaken = new Promise<void>((resolve) => {
			tookFirst = resolve;
		});
		async function* source(): AsyncGenerator<number[]> {
			yield [1, 2, 3];
			await firstTaken;
			await tick();
			yield [4, 5];
		}
		const seen: number[][] = [];
		for await (const group of coalesced(source(), 100)) {
			seen.push(group);
			tookFirst();
		}
		assert.deepEqual(seen, [
			[1, 2, 3],
			[4, 5],
		]);
	});

	test("hands over at most maxItems at a time and loses nothing", async () => {
		const groups = Array.from({ length: 6 }, (_, i) => [i * 2, i * 2 + 1]);
		const seen: number[][] = [];
		for await (const group of coalesced(paced(groups), 3)) {
			seen.push(group);
			await new Promise((resolve) => setTimeout(resolve, 30));
		}
		assert.ok(
			seen.every((g) => g.length <= 3),
			JSON.stringify(seen),
		);
		assert.deepEqual(seen.flat(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
	});

	test("throws the source's failure after what was read before it", async () => {
		async function* failing(): AsyncGenerator<number[]> {
			yield [1];
			throw new Error("feed broke");
		}
		const seen: number[][] = [];
		await assert.rejects(async () => {
			for await (const group of coalesced(failing(), 10)) seen.push(group);
		}, /feed broke/);
		assert.deepEqual(seen, [[1]]);
	});

	test("a consumer that stops early stops the reading", async () => {
		const stopped = { value: false };
		const groups = Array.from({ length: 50 }, (_, i) => [i]);
		for await (const group of coalesced(paced(groups, stopped), 10)) {
			assert.deepEqual(group, [0]);
			break;
		}
		for (let i = 0; i < 20 && !stopped.value; i++) await tick();
		assert.equal(stopped.value, true);
	});
});
