import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import type { GetRunsResponse } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { rowsReadBy, statementsRunBy } from "../../../kit/src/testing/rows-read.js";
import {
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

describe("GetRuns in an environment of many runs", () => {
	let h: SchedulerHarness;
	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	test("reads the runs asked for by their ids, not the environment's other runs", async () => {
		// A new runs table with no statistics, and none taken during the test: what the
		// planner knows right after a large batch made an environment's runs.
		await h.schema.pool.query("ALTER TABLE runs SET (autovacuum_enabled = false)");
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const ids: string[] = [];
		for (let from = 0; from < 10_000; from += 1_000) {
			const { runs } = await h.client.triggerRuns({
				environmentId: env,
				batchId: "batch_large",
				firstIndex: from,
				summaryOnly: true,
				runs: Array.from({ length: 1_000 }, (_, i) => ({ taskId: "t", payload: json(from + i) })),
			});
			ids.push(...runs.map((r) => r.id));
		}
		const asked = ids.slice(4_000, 5_000).reverse();
		let answer: GetRunsResponse | undefined;
		const statements = await statementsRunBy(h.schema.pool, async () => {
			answer = await h.client.getRuns({ environmentId: env, runIds: asked, outcomeOnly: true });
		});
		assert.deepEqual(
			answer?.runs.map((r) => [r.id, r.batchIndex]),
			asked.map((id) => [id, 4_000 + ids.slice(4_000, 5_000).indexOf(id)]),
		);
		let rowsRead = 0;
		for (const s of statements) rowsRead += await rowsReadBy(h.schema.pool, s);
		// One lookup per id. Through the environment's index, filtered by id, it read all 10,000.
		assert.ok(rowsRead <= 1_000, `${rowsRead} rows read for 1,000 runs`);
	});

	test("a run of another environment is NOT_FOUND, named, even among runs of the one asked", async () => {
		const env = newEnvironment();
		const other = newEnvironment();
		for (const e of [env, other]) await TestWorker.register(h, e, [{ id: "t" }]);
		const mine = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json(1) });
		const theirs = await h.client.triggerRun({ environmentId: other, taskId: "t", payload: json(2) });
		const error = await h.client
			.getRuns({ environmentId: env, runIds: [mine.run?.id ?? "", theirs.run?.id ?? ""], outcomeOnly: true })
			.then(
				() => undefined,
				(e: unknown) => ConnectError.from(e),
			);
		assert.equal(error?.code, Code.NotFound);
		assert.match(error?.rawMessage ?? "", new RegExp(theirs.run?.id ?? "-"));
	});
});
