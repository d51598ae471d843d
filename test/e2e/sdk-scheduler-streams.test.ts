import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { configure, runs, tasks } from "../../sdk/src/index.js";
import { randomSuffix } from "../../services/kit/src/testing/stores.js";
import { type CountingProxy, startCountingProxy } from "./counting-proxy.js";
import {
	directConfigOf,
	startPlatform,
	startWorker,
	type TestPlatform,
	type WorkerProcess,
} from "./sdk-platform.js";

// The SDK in this process and the worker reach the scheduler through a proxy that
// counts the calls by method: which RPCs they really made, seen from outside both.
describe("the SDK's calls to the scheduler", () => {
	let platform: TestPlatform;
	let proxy: CountingProxy;
	let worker: WorkerProcess;

	before(async () => {
		platform = await startPlatform(`sdk-streams-${randomSuffix()}`);
		proxy = await startCountingProxy(platform.urls.scheduler as string);
		const direct = directConfigOf(platform);
		configure({ ...direct, services: { ...direct.services, scheduler: proxy.url } });
		worker = await startWorker({ ...platform.env, TASKMESH_SCHEDULER_URL: proxy.url });
	});

	after(async () => {
		worker?.child.kill("SIGTERM");
		const code = await worker?.exited;
		await proxy?.close();
		await platform?.stop();
		assert.equal(code, 0, "the worker exits 0 after SIGTERM");
	});

	test("attempts start and complete over AttemptStream, triggers without a parent go over TriggerStream, a child with a parent over TriggerRun", async () => {
		const parsed = await Promise.all(
			["one", "one two", "one two three"].map((text, i) =>
				tasks.triggerAndWait("doc.parse", { id: `p${i}`, text }),
			),
		);
		assert.deepEqual(
			parsed.map((r) => (r.unwrap() as { words: number }).words),
			[1, 2, 3],
		);
		const ingest = await tasks.triggerAndWait<{ documents: number; words: number }>("doc.ingest", {
			documents: [{ id: "d1", text: "alpha beta" }],
		});
		assert.equal(ingest.unwrap().words, 2);
		assert.equal((await runs.retrieve(ingest.id)).status, "COMPLETED");
		const calls = Object.fromEntries(proxy.calls);
		assert.equal(calls.StartAttempt, undefined, "no unary StartAttempt");
		assert.equal(calls.CompleteAttempt, undefined, "no unary CompleteAttempt");
		assert.equal(calls.AttemptStream, 1, "one AttemptStream for the worker");
		assert.ok((calls.TriggerStream ?? 0) >= 1, "the triggers went over TriggerStream");
		assert.equal(calls.TriggerRun, 1, "the child render, triggered with its parent, took unary TriggerRun");
	});
});
