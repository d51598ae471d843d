import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { AttemptStatus, RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

const MiB = 1024 * 1024;
/** A JSON string of exactly `bytes` bytes. */
const bigOutput = (bytes: number, fill: string) => json(fill.repeat(bytes - 2));

describe("large outputs through gRPC", () => {
	let h: SchedulerHarness;

	// The defaults: 8 MiB outputs, 4 MiB of older waits' results inline.
	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	test("a parent that waited on three 6 MiB children resumes: the newest results inline, the older elided and read with GetRuns", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "parent" }, { id: "child" }]);
		const parent = await h.client.triggerRun({ environmentId: env, taskId: "parent", payload: json({}) });
		let p = await worker.startNext();
		const children: string[] = [];
		for (const fill of ["a", "b", "c"]) {
			// Waits are replayed in the order they began; the manual clock must move for that.
			h.clock.advance(1_000);
			const child = await h.client.triggerRun({
				environmentId: env,
				taskId: "child",
				payload: json({ fill }),
				parent: { runId: parent.run?.id ?? "", attemptId: p.attempt?.id ?? "", wait: true },
			});
			children.push(child.run?.id ?? "");
			const c = await worker.startNext();
			assert.equal(c.run?.id, child.run?.id);
			await worker.completeBytes(c.attempt?.id ?? "", bigOutput(6 * MiB, fill));
			p = await worker.startNext();
			assert.equal(p.run?.id, parent.run?.id);
			assert.equal(p.resumed, true);
		}
		// Three 6 MiB results were over the 16 MiB message limit in one answer.
		const waits = p.resolvedWaits;
		assert.equal(waits.length, 3);
		assert.deepEqual(
			waits.map((w) => w.wait?.childRunId),
			children,
		);
		assert.deepEqual(
			waits.map((w) => w.resultsElided),
			[true, true, false],
		);
		assert.deepEqual(
			waits.map((w) => w.results.length),
			[0, 0, 1],
		);
		assert.equal(waits[2]?.results[0]?.output.byteLength, 6 * MiB);
		assert.equal(waits[2]?.results[0]?.output[1], "c".charCodeAt(0));
		// The elided results, as a worker reads them: GetRuns answers a prefix within its budget.
		const read = new Map<string, Uint8Array>();
		let asked = children.slice(0, 2);
		while (asked.length > 0) {
			const { runs } = await h.client.getRuns({ environmentId: env, runIds: asked, outcomeOnly: true });
			assert.ok(runs.length > 0);
			for (const r of runs) read.set(r.id, r.output);
			asked = asked.slice(runs.length);
		}
		assert.equal(read.get(children[0] as string)?.byteLength, 6 * MiB);
		assert.equal(read.get(children[0] as string)?.[1], "a".charCodeAt(0));
		assert.equal(read.get(children[1] as string)?.[1], "b".charCodeAt(0));
		const done = await worker.complete(p.attempt?.id ?? "", { lengths: 3 });
		assert.equal(done.run?.status, RunStatus.COMPLETED);
	});

	test("an output over SCHEDULER_MAX_OUTPUT_BYTES is refused as INVALID_ARGUMENT naming the field and the limit, and nothing changes", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const attemptId = started.attempt?.id ?? "";
		const refused = await worker.completeBytes(attemptId, bigOutput(8 * MiB + 1, "x")).then(
			() => undefined,
			(error: unknown) => ConnectError.from(error),
		);
		assert.equal(refused?.code, Code.InvalidArgument);
		assert.match(
			refused?.rawMessage ?? "",
			/^output\.output: 8388609 bytes is over the limit of 8388608 bytes \(SCHEDULER_MAX_OUTPUT_BYTES\)$/,
		);
		assert.deepEqual(
			refused?.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field),
			["output.output"],
		);
		const after = (await h.client.getRun({ environmentId: env, runId: run?.id ?? "" })).run;
		assert.equal(after?.status, RunStatus.EXECUTING);
		assert.equal(after?.output.byteLength, 0);
		assert.deepEqual(
			after?.attempts.map((a) => a.status),
			[AttemptStatus.EXECUTING],
		);
		// The attempt is still running and can report what it should.
		const done = await worker.complete(attemptId, { small: true });
		assert.equal(done.run?.status, RunStatus.COMPLETED);
	});
});

describe("the resolved waits' inline budget through gRPC", () => {
	let h: SchedulerHarness;

	// A budget of a few hundred bytes, so small outputs show how it is spent.
	schedulerSuite(
		{ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000", SCHEDULER_RESOLVED_WAITS_INLINE_BYTES: "400" },
		(started) => {
			h = started;
		},
	);

	test("a task error's message and stack are kept up to their bounds, saying how much was cut, and the retry still follows", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const message = "m".repeat(1024 * 1024);
		const stackTrace = `Error: boom\n${"    at frame (file.ts:1:1)\n".repeat(100_000)}`;
		const done = await h.client.completeAttempt({
			workerId: worker.id,
			attemptId: started.attempt?.id ?? "",
			result: {
				case: "error",
				value: { name: "Error", code: "E_BIG", message, stackTrace, retryable: true },
			},
		});
		assert.equal(
			done.run?.status,
			RunStatus.REATTEMPTING,
			"a retryable failure is retried whatever its size",
		);
		const { run: read } = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		const error = read?.attempts[0]?.error;
		assert.equal(error?.code, "E_BIG");
		assert.equal(
			error?.message,
			`${"m".repeat(16 * 1024)}… [${1024 * 1024 - 16 * 1024} more characters cut]`,
		);
		assert.ok(stackTrace.startsWith((error?.stackTrace ?? "").slice(0, 64 * 1024)));
		assert.match(
			error?.stackTrace ?? "",
			new RegExp(`… \\[${stackTrace.length - 64 * 1024} more characters cut\\]$`),
		);
	});

	test("results travel newest first until one does not fit; older ones are elided from there, and a time wait has nothing to elide", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "parent" }, { id: "child" }]);
		const parent = await h.client.triggerRun({ environmentId: env, taskId: "parent", payload: json({}) });
		let p = await worker.startNext();
		const waitOn = async (bytes: number) => {
			h.clock.advance(1_000);
			const child = await h.client.triggerRun({
				environmentId: env,
				taskId: "child",
				payload: json({}),
				parent: { runId: parent.run?.id ?? "", attemptId: p.attempt?.id ?? "", wait: true },
			});
			const c = await worker.startNext();
			await worker.completeBytes(c.attempt?.id ?? "", bigOutput(bytes, "o"));
			p = await worker.startNext();
			return child.run?.id ?? "";
		};
		// Oldest to newest: a tiny output, a time wait, 100 bytes, 200 bytes.
		const tiny = await waitOn(3);
		h.clock.advance(1_000);
		await h.client.beginWait({
			runId: parent.run?.id ?? "",
			attemptId: p.attempt?.id ?? "",
			target: { case: "duration", value: { seconds: 0n } },
		});
		await h.engine.waits.resolveDueTimeWaits(10);
		p = await worker.startNext();
		const hundred = await waitOn(100);
		const twoHundred = await waitOn(200);
		const waits = p.resolvedWaits;
		assert.deepEqual(
			waits.map((w) => w.wait?.childRunId),
			[tiny, "", hundred, twoHundred],
		);
		// The newest (about 280 bytes counted) fits; the next (about 180) would pass 400, so it
		// and every older wait with results are elided, though the tiny one alone would fit.
		assert.deepEqual(
			waits.map((w) => w.resultsElided),
			[true, false, true, false],
		);
		assert.deepEqual(
			waits.map((w) => w.results.length),
			[0, 0, 0, 1],
		);
		assert.equal(waits[3]?.results[0]?.output.byteLength, 200);
	});
});
