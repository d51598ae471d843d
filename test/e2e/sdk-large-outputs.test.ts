import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import { RateLimitedError, runs, tasks } from "../../sdk/src/index.js";
import { randomSuffix } from "../../services/kit/src/testing/stores.js";
import {
	configureDirect,
	startPlatform,
	startWorker,
	type TestPlatform,
	type WorkerProcess,
} from "./sdk-platform.js";

const MiB = 1024 * 1024;

describe("large outputs through the SDK and the services", () => {
	let platform: TestPlatform;
	let worker: WorkerProcess;
	const env = `sdk-large-${randomSuffix()}`;

	before(async () => {
		platform = await startPlatform(env);
		configureDirect(platform);
		// Keeping no suspended child, the worker replays the parent at every resume,
		// from StartAttempt's resolved waits: the path whose results may be elided.
		worker = await startWorker(platform.env, { TASKMESH_WORKER_SUSPENDED_KEEP_MS: "0" });
	});

	after(async () => {
		worker?.child.kill("SIGTERM");
		const code = await worker?.exited;
		await platform?.stop();
		assert.equal(code, 0, "the worker exits 0 after SIGTERM");
	});

	// Without elided results the third resume's answer passed 16 MiB and the run never
	// progressed: the timeout makes that a failure rather than a hang.
	test(
		"a parent that waits on three children returning ~6 MiB each, in turn, completes with every result",
		{ timeout: 60_000 },
		async () => {
			const result = await tasks.triggerAndWait<{ length: number; fill: string }[]>("test.big-parent", {});
			assert.equal(result.ok, true, String(result.error?.message));
			assert.deepEqual(result.unwrap(), [
				{ length: 6 * MiB, fill: "a" },
				{ length: 6 * MiB, fill: "b" },
				{ length: 6 * MiB, fill: "c" },
			]);
			// The third resume replayed the task with three waits, the older two read back by the worker.
			await worker.waitFor(new RegExp(`${result.id} test\\.big-parent +replaying attempt 1`));
			assert.ok(!worker.lines.some((l) => l.includes(result.id) && l.includes("resumed in place")));
		},
	);

	test(
		"a batch wait whose results were elided is read back from ListBatchItems on replay",
		{ timeout: 60_000 },
		async () => {
			const result = await tasks.triggerAndWait<{ words: number[]; bigLength: number }>(
				"test.batch-then-big",
				{},
			);
			assert.equal(result.ok, true, String(result.error?.message));
			assert.deepEqual(result.unwrap(), { words: [1, 2], bigLength: 6 * MiB });
			await worker.waitFor(new RegExp(`${result.id} test\\.batch-then-big +replaying attempt 1`));
		},
	);

	test(
		"an output over the scheduler's limit fails the run with OUTPUT_TOO_LARGE, without retry, and the worker learns the limit",
		{ timeout: 60_000 },
		async () => {
			for (const marker of ["refused", "known"]) {
				const result = await tasks.triggerAndWait("test.big-output", { bytes: 9 * MiB, fill: "x" });
				assert.equal(result.ok, false, marker);
				const run = await runs.retrieve(result.id);
				assert.equal(run.status, "FAILED");
				assert.equal(run.attemptCount, 1, "no retry");
				assert.equal(run.error?.code, "OUTPUT_TOO_LARGE");
				assert.match(
					run.error?.message ?? "",
					/output is 9437186 bytes, over the scheduler's limit of 8388608 bytes \(SCHEDULER_MAX_OUTPUT_BYTES\)/,
				);
			}
			assert.equal(worker.child.exitCode, null, "the worker is still running");
		},
	);

	test(
		"an output past the gRPC message limit fails the run with OUTPUT_TOO_LARGE before it is sent",
		{ timeout: 60_000 },
		async () => {
			const result = await tasks.triggerAndWait("test.big-output", { bytes: 17 * MiB, fill: "y" });
			const run = await runs.retrieve(result.id);
			assert.equal(run.status, "FAILED");
			assert.equal(run.attemptCount, 1, "no retry");
			assert.equal(run.error?.code, "OUTPUT_TOO_LARGE");
			assert.match(
				run.error?.message ?? "",
				/output is 17825794 bytes, too large for the scheduler \(a CompleteAttempt request carries at most 16711680 bytes of output within the gRPC message limit of 16777216 bytes\)/,
			);
			// The worker's connection is intact: it goes on taking runs.
			const after = await tasks.triggerAndWait("doc.parse", { id: "after-big", text: "still here" });
			assert.deepEqual(after.unwrap(), { id: "after-big", words: 2, topWord: "still" });
		},
	);

	test(
		"a trigger over the 16 MiB message limit fails alone, unsent, with RESOURCE_EXHAUSTED naming the limit; the client's next call succeeds",
		{ timeout: 60_000 },
		async () => {
			await assert.rejects(
				tasks.trigger("doc.parse", { id: "huge", text: "z".repeat(17 * MiB) }),
				(error) => {
					assert.ok(error instanceof RateLimitedError, String(error));
					assert.equal(error.grpcCode, Code.ResourceExhausted);
					assert.match(error.message, /larger than configured writeMaxBytes 16777216/);
					return true;
				},
			);
			// Sent, the request made the server reset the connection and every later call on it failed.
			const next = await tasks.triggerAndWait("doc.parse", { id: "after-huge", text: "still here" });
			assert.deepEqual(next.unwrap(), { id: "after-huge", words: 2, topWord: "still" });
		},
	);
});
