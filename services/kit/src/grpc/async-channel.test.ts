import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { AsyncChannel } from "./async-channel.js";

describe("AsyncChannel", () => {
	test("a push waits while the channel holds its high-water mark and goes on once read", async () => {
		const channel = new AsyncChannel<number>(2);
		let done = false;
		await channel.push(1);
		const second = channel.push(2).then(() => {
			done = true;
		});
		await sleep(5);
		assert.equal(done, false);
		const reader = channel[Symbol.asyncIterator]();
		assert.deepEqual(await reader.next(), { value: 1, done: false });
		await second;
		assert.equal(done, true);
	});

	test("writers that outnumber the items left are all let go once there is room", async () => {
		// Five writers, none awaited, as a stream's delivery loop and pushes of deliveries
		// handed over at enqueue may be: each read used to wake one writer, which went
		// back to waiting while the channel was still full, so some were left waiting
		// after the reader had emptied it.
		const channel = new AsyncChannel<number>(2);
		let released = 0;
		const pushes = [1, 2, 3, 4, 5].map((n) => channel.push(n).then(() => released++));
		const read: number[] = [];
		const reader = channel[Symbol.asyncIterator]();
		for (let i = 0; i < 5; i++) read.push((await reader.next()).value as number);
		const all = Promise.all(pushes);
		const outcome = await Promise.race([all.then(() => "released"), sleep(200).then(() => "stuck")]);
		assert.equal(outcome, "released", `${released} of 5 writers let go`);
		assert.deepEqual(read, [1, 2, 3, 4, 5]);
	});

	test("the reader gets what is left after close, then stops; a failure is thrown after it", async () => {
		const channel = new AsyncChannel<number>(4);
		await channel.push(1);
		channel.fail(new Error("store down"));
		await channel.push(2);
		const read: number[] = [];
		await assert.rejects(async () => {
			for await (const n of channel) read.push(n);
		}, /store down/);
		assert.deepEqual(read, [1]);
	});
});
