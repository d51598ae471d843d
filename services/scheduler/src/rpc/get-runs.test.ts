import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	type GetRunsResponse,
	RunStatus,
	SchedulerService,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { rowsReadBy, statementsRunBy } from "../../../kit/src/testing/rows-read.js";
import {
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";
import { MAX_GET_RUNS, schedulerServiceRegistration } from "./scheduler-service.js";

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

async function codeOf(promise: Promise<unknown>): Promise<[Code, string]> {
	try {
		await promise;
	} catch (error) {
		const e = ConnectError.from(error);
		return [e.code, e.rawMessage];
	}
	throw new Error("the call did not fail");
}

describe("GetRuns through gRPC", () => {
	let h: SchedulerHarness;
	const env = newEnvironment();
	/** Three runs: the first two completed with outputs, the last still queued. */
	const ids: string[] = [];

	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});
	before(async () => {
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		for (const n of [0, 1]) {
			const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({ n }) });
			ids.push(run?.id ?? "");
			const started = await worker.startNext();
			await worker.complete(started.attempt?.id ?? "", { out: n, pad: "x".repeat(1_000) });
		}
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({ n: 2 }) });
		ids.push(run?.id ?? "");
	});

	test("answers runs in the order asked, repeats included, with outputs and without payloads or attempts", async () => {
		const asked = [ids[2], ids[0], ids[1], ids[0]] as string[];
		const { runs } = await h.client.getRuns({ environmentId: env, runIds: asked });
		assert.deepEqual(
			runs.map((r) => r.id),
			asked,
		);
		assert.deepEqual(
			runs.map((r) => r.status),
			[RunStatus.QUEUED, RunStatus.COMPLETED, RunStatus.COMPLETED, RunStatus.COMPLETED],
		);
		assert.equal(JSON.parse(text(runs[1]?.output)).out, 0);
		assert.equal(JSON.parse(text(runs[2]?.output)).out, 1);
		assert.equal(runs[1]?.outputType, "application/json");
		for (const run of runs) {
			assert.equal(run.payload.byteLength, 0);
			assert.deepEqual(run.attempts, []);
			assert.equal(run.taskId, "t");
		}
		// GetRun still returns the payload and attempts the bulk read leaves out.
		const { run } = await h.client.getRun({ environmentId: env, runId: ids[0] as string });
		assert.deepEqual(JSON.parse(text(run?.payload)), { n: 0 });
		assert.equal(run?.attempts.length, 1);
	});

	test("outcome_only answers each run with its id, status, output and error alone", async () => {
		const asked = [ids[0], ids[2]] as string[];
		const { runs } = await h.client.getRuns({ environmentId: env, runIds: asked, outcomeOnly: true });
		assert.deepEqual(
			runs.map((r) => [r.id, r.status, r.outputType, r.taskId, r.options, r.machine, r.createdAt]),
			[
				[ids[0], RunStatus.COMPLETED, "application/json", "", undefined, undefined, undefined],
				[ids[2], RunStatus.QUEUED, "", "", undefined, undefined, undefined],
			],
		);
		assert.equal(JSON.parse(text(runs[0]?.output)).out, 0);
		assert.equal(runs[1]?.output.byteLength, 0);
	});

	test("answers a prefix when outputs pass the budget, and the rest when asked again", async () => {
		// A budget of 1,500 bytes holds one ~1 KiB output, not two.
		const small = await startTestServer([
			schedulerServiceRegistration({ engine: h.engine, streamPollMs: 50, getRunsBudgetBytes: 1_500 }),
		]);
		try {
			const client = testClient(SchedulerService, small.url);
			const asked = [ids[0], ids[1], ids[2]] as string[];
			const first = await client.getRuns({ environmentId: env, runIds: asked });
			assert.deepEqual(
				first.runs.map((r) => r.id),
				[ids[0]],
			);
			const rest = await client.getRuns({ environmentId: env, runIds: asked.slice(first.runs.length) });
			assert.deepEqual(
				rest.runs.map((r) => r.id),
				[ids[1], ids[2]],
			);
		} finally {
			await small.drain();
		}
	});

	test("refuses empty, oversized and unknown requests with the field and the limit, changing nothing", async () => {
		assert.deepEqual(await codeOf(h.client.getRuns({ environmentId: env, runIds: [] })), [
			Code.InvalidArgument,
			"run_ids: must hold 1 to 1000 ids, got 0",
		]);
		const tooMany = Array.from({ length: MAX_GET_RUNS + 1 }, () => ids[0] as string);
		assert.deepEqual(await codeOf(h.client.getRuns({ environmentId: env, runIds: tooMany })), [
			Code.InvalidArgument,
			"run_ids: must hold 1 to 1000 ids, got 1001",
		]);
		assert.deepEqual(await codeOf(h.client.getRuns({ environmentId: env, runIds: [ids[0] as string, ""] })), [
			Code.InvalidArgument,
			"run_ids[1]: is required",
		]);
		assert.deepEqual(await codeOf(h.client.getRuns({ environmentId: "", runIds: [ids[0] as string] })), [
			Code.InvalidArgument,
			"environment_id: is required",
		]);
		// A run of another environment is as unknown as one that never existed.
		const [code, message] = await codeOf(
			h.client.getRuns({ environmentId: newEnvironment(), runIds: [ids[0] as string] }),
		);
		assert.equal(code, Code.NotFound);
		assert.match(message, new RegExp(ids[0] as string));
		// Also among runs of the environment asked.
		const other = newEnvironment();
		await TestWorker.register(h, other, [{ id: "t" }]);
		const { run: theirs } = await h.client.triggerRun({
			environmentId: other,
			taskId: "t",
			payload: json({}),
		});
		const [mixedCode, mixedMessage] = await codeOf(
			h.client.getRuns({
				environmentId: env,
				runIds: [ids[0] as string, theirs?.id ?? "", ids[1] as string],
			}),
		);
		assert.equal(mixedCode, Code.NotFound);
		assert.match(mixedMessage, new RegExp(theirs?.id ?? "-"));
		const { runs } = await h.client.getRuns({ environmentId: env, runIds: ids });
		assert.equal(runs.length, 3);
	});

	test("looks each run up by its id, not through the environment's other runs, however many", async () => {
		// A runs table with no statistics, and none taken during the test: what the
		// planner knows right after a large batch made an environment's runs.
		await h.schema.pool.query("ALTER TABLE runs SET (autovacuum_enabled = false)");
		const large = newEnvironment();
		await TestWorker.register(h, large, [{ id: "t" }]);
		const made: string[] = [];
		for (let from = 0; from < 10_000; from += 1_000) {
			const { runs } = await h.client.triggerRuns({
				environmentId: large,
				batchId: "batch_large",
				firstIndex: from,
				summaryOnly: true,
				runs: Array.from({ length: 1_000 }, (_, i) => ({ taskId: "t", payload: json(from + i) })),
			});
			made.push(...runs.map((r) => r.id));
		}
		const asked = made.slice(4_000, 5_000).reverse();
		let answer: GetRunsResponse | undefined;
		const statements = await statementsRunBy(h.schema.pool, async () => {
			answer = await h.client.getRuns({ environmentId: large, runIds: asked, outcomeOnly: true });
		});
		assert.deepEqual(
			answer?.runs.map((r) => [r.id, r.batchIndex]),
			asked.map((id, i) => [id, 4_999 - i]),
		);
		let rowsRead = 0;
		for (const s of statements) rowsRead += await rowsReadBy(h.schema.pool, s);
		// One lookup per id. Through the environment's index, filtered by id, it read all 10,000.
		assert.ok(rowsRead <= 1_000, `${rowsRead} rows read for 1,000 runs`);
	});
});
