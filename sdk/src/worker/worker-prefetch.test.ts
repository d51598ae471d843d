/**
 * Prefetched deliveries on a real platform: a worker takes deliveries ahead of its
 * free slots, yet runs no more attempts at once than it may, and gives the ones it
 * has not started back to the queue when it stops, so another worker runs them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { randomSuffix } from "../../../services/kit/src/testing/stores.js";
import {
	configureDirect,
	directConfigOf,
	startPlatform,
	TASK_FILES,
	type TestPlatform,
} from "../../../test/e2e/sdk-platform.js";
import type { DirectConfig } from "../client/config.js";
import { runs, tasks } from "../index.js";
import { Worker } from "./worker.js";

let platform: TestPlatform;
let config: DirectConfig;

before(async () => {
	platform = await startPlatform(`prefetch-${randomSuffix()}`);
	configureDirect(platform);
	config = directConfigOf(platform);
});

after(async () => {
	await platform?.stop();
});

function startWorker(lines: string[]): Promise<Worker> {
	return Worker.start({
		entries: TASK_FILES,
		config,
		capacity: { cpu: 4, memoryGb: 8 },
		maxConcurrentAttempts: 1,
		prefetchDeliveries: 2,
		development: true,
		gracePeriodMs: 10_000,
		telemetryPeriodMs: 500,
		write: (line) => lines.push(line),
	});
}

test("one slot with two prefetched: attempts run one at a time, unstarted ones go back at stop", async () => {
	const first: string[] = [];
	const second: string[] = [];
	const a = await startWorker(first);
	let b: Worker | undefined;
	try {
		// The first run outlasts the second worker's start; the other two wait on A, prefetched.
		const handles = [await tasks.trigger("test.slow", { ms: 6000, marker: "long" })];
		for (let i = 0; i < 2; i++) handles.push(await tasks.trigger("test.slow", { ms: 100, marker: `p${i}` }));
		await until(() => first.some((l) => /started attempt 1/.test(l)), "A started an attempt");
		b = await startWorker(second);
		await new Promise((r) => setTimeout(r, 300));
		const startedOnA = first.filter((l) => /started attempt 1/.test(l)).length;
		assert.equal(startedOnA, 1, `A started one attempt, not more:\n${first.join("\n")}`);
		assert.equal(second.filter((l) => /started attempt/.test(l)).length, 0, "B has nothing yet");

		let aStopped = false;
		const stopping = a.stop().then(() => {
			aStopped = true;
		});
		// The prefetched two go back at once, while A still lets its running attempt finish.
		await until(() => second.filter((l) => /completed after/.test(l)).length === 2, "B ran the two");
		assert.equal(aStopped, false, "B ran them before A's running attempt ended");
		await stopping;
		assert.ok(
			first.some((l) => /completed after/.test(l)),
			"A finished its attempt within the grace period",
		);
		for (const h of handles) assert.equal((await runs.retrieve(h.id)).status, "COMPLETED");
	} finally {
		await a.stop();
		await b?.stop();
	}
});

async function until(done: () => boolean, what: string): Promise<void> {
	const deadline = Date.now() + 20_000;
	while (!done()) {
		if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}
