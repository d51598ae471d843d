import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { configure, runs, tasks } from "../../sdk/src/index.js";
import { randomSuffix } from "../../services/kit/src/testing/stores.js";
import { startPlatform, startWorker, type TestPlatform, type WorkerProcess } from "./sdk-platform.js";

describe("SDK end to end: trigger, worker, result", () => {
	let platform: TestPlatform;
	let worker: WorkerProcess;

	before(async () => {
		platform = await startPlatform(`sdk-e2e-${randomSuffix()}`);
		configure({ services: platform.urls as never, environmentId: platform.env.TASKMESH_ENVIRONMENT });
		worker = await startWorker(platform.env);
	});

	after(async () => {
		worker?.child.kill("SIGTERM");
		await worker?.exited;
		await platform?.stop();
	});

	test("a triggered task runs on the worker and its output comes back", async () => {
		const result = await tasks.triggerAndWait("doc.parse", { id: "d1", text: "the cat and the hat" });
		assert.equal(result.ok, true, String(result.error));
		assert.deepEqual(result.output, { id: "d1", words: 5, topWord: "the" });
		const run = await runs.retrieve(result.id);
		assert.equal(run.status, "COMPLETED");
		assert.equal(run.machine, "micro");
	});
});
