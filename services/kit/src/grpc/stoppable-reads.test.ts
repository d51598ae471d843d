import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { StoppableReads } from "./stoppable-reads.js";

/** An iterator whose reads are answered by hand. */
function handFed<T>() {
	const pending: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
	const iterator: AsyncIterator<T> = {
		next: () => new Promise((resolve, reject) => pending.push({ resolve, reject })),
	};
	return { iterator, pending };
}

describe("StoppableReads", () => {
	test("reads requests in order, then the end", async () => {
		const { iterator, pending } = handFed<string>();
		const reads = new StoppableReads(iterator, new AbortController().signal);
		const first = reads.next();
		pending.shift()?.resolve({ done: false, value: "a" });
		assert.deepEqual(await first, { done: false, value: "a" });
		const end = reads.next();
		pending.shift()?.resolve({ done: true, value: undefined });
		assert.deepEqual(await end, { done: true, value: undefined });
	});

	test("a stop ends a pending read at once; what comes after is dropped", async () => {
		const { iterator, pending } = handFed<string>();
		const stop = new AbortController();
		const reads = new StoppableReads(iterator, stop.signal);
		const read = reads.next();
		stop.abort();
		assert.equal(await read, undefined);
		pending.shift()?.resolve({ done: false, value: "late" });
		assert.equal(await reads.next(), undefined);
	});

	test("a failed read rejects; one after the stop is not left unhandled", async () => {
		const { iterator, pending } = handFed<string>();
		const stop = new AbortController();
		const reads = new StoppableReads(iterator, stop.signal);
		const read = reads.next();
		pending.shift()?.reject(new Error("reset"));
		await assert.rejects(read, /reset/);
		const next = reads.next();
		stop.abort();
		pending.shift()?.reject(new Error("after the stop"));
		assert.equal(await next, undefined);
	});
});
