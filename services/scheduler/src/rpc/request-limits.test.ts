import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { RunStatus, SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import {
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";
import { schedulerServiceRegistration } from "./scheduler-service.js";

/** Asserts the call is refused with the code and a message matching `message`. */
async function refused(call: Promise<unknown>, code: Code, message: RegExp, what = message.source) {
	await assert.rejects(call, (e: unknown) => {
		const err = ConnectError.from(e);
		assert.equal(err.code, code, `${what}: ${err.rawMessage}`);
		assert.match(err.rawMessage, message, what);
		return true;
	});
}

/** A page token as the service would write one for `position`. */
const token = (text: string) => Buffer.from(text).toString("base64url");

describe("requests past the scheduler's limits through gRPC", () => {
	let h: SchedulerHarness;

	schedulerSuite(
		{ SCHEDULER_MAX_METADATA_BYTES: "4096", SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" },
		(started) => {
			h = started;
		},
	);

	test("metadata over SCHEDULER_MAX_METADATA_BYTES is refused wherever a run is made, naming the field and the limit, and nothing is stored", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const limit =
			/options\.metadata: \d+ bytes \(encoded as a google\.protobuf\.Struct\) is over the limit of 4096 bytes \(SCHEDULER_MAX_METADATA_BYTES\)/;
		await refused(
			h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				options: { metadata: { big: "x".repeat(5_000) } },
			}),
			Code.InvalidArgument,
			limit,
		);
		// 600 numbers are about 2,300 bytes of JSON but 6,600 as a Struct, which is what answers carry.
		await refused(
			h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				options: { metadata: { numbers: Array.from({ length: 600 }, (_, i) => i) } },
			}),
			Code.InvalidArgument,
			limit,
		);
		const many = await h.client.triggerRuns({
			environmentId: env,
			runs: [{ taskId: "t", options: { metadata: { big: "x".repeat(5_000) } } }, { taskId: "t" }],
		});
		assert.equal(many.runs.length, 1);
		assert.equal(many.failures[0]?.index, 0);
		assert.equal(many.failures[0]?.code, Code.InvalidArgument);
		assert.match(
			many.failures[0]?.message ?? "",
			/runs\[0\]\.options\.metadata: .* over the limit of 4096 bytes/,
		);
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 1);

		// Within the limit is taken and read back; a replay takes the limit of today.
		const kept = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			options: { metadata: { note: "x".repeat(3_000) } },
		});
		assert.equal(kept.run?.options?.metadata?.note, "x".repeat(3_000));
		const id = kept.run?.id ?? "";
		// As a run stored before the limit was lowered.
		await h.schema.pool.query(
			`UPDATE runs SET options = jsonb_set(options, '{metadata}', jsonb_build_object('note', repeat('y', 9000))) WHERE id = $1`,
			[id],
		);
		await refused(
			h.client.replayRun({ environmentId: env, runId: id }),
			Code.FailedPrecondition,
			/run_id: run "run_\w+" cannot be replayed: its options\.metadata of \d+ bytes .* over the limit of 4096 bytes \(SCHEDULER_MAX_METADATA_BYTES\)/,
		);
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 2);
	});

	test("ListRuns ends a page early where its runs' metadata passes the answer's budget, and the next page goes on", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		for (let i = 0; i < 5; i++) {
			await h.client.triggerRun({
				environmentId: env,
				taskId: "t",
				options: { metadata: { pad: "m".repeat(1_000) } },
			});
		}
		// A budget of 2,500 bytes holds two runs of ~1 KiB metadata, not three.
		const small = await startTestServer([
			schedulerServiceRegistration({ engine: h.engine, streamPollMs: 50, getRunsBudgetBytes: 2_500 }),
		]);
		try {
			const client = testClient(SchedulerService, small.url);
			const seen: string[] = [];
			let pageToken = "";
			const sizes: number[] = [];
			do {
				const page = await client.listRuns({ environmentId: env, pageToken });
				sizes.push(page.runs.length);
				seen.push(...page.runs.map((r) => r.id));
				pageToken = page.nextPageToken;
			} while (pageToken !== "");
			assert.deepEqual(sizes, [2, 2, 1]);
			assert.equal(new Set(seen).size, 5);
			const got = await client.getRuns({ environmentId: env, runIds: seen.slice(0, 3) });
			assert.equal(got.runs.length, 2, "GetRuns counts metadata in its budget too");
		} finally {
			await small.drain();
		}
	});

	test("StreamRunCompletions refuses an after_cursor past a signed 64-bit number as INVALID_ARGUMENT", async () => {
		for (const afterCursor of [2n ** 63n, 2n ** 64n - 1n]) {
			await refused(
				(async () => {
					for await (const _ of h.client.streamRunCompletions({ afterCursor })) return;
				})(),
				Code.InvalidArgument,
				/after_cursor: must be at most 9223372036854775807/,
			);
		}
	});

	test("a cron that never matches a time is refused on schedules and on declared tasks, and nothing is stored", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const never = /cron: "0 0 3[01] 2 \*" never matches a time/;
		for (const cron of ["0 0 31 2 *", "0 0 30 2 *"]) {
			await refused(
				h.client.createSchedule({ environmentId: env, taskId: "t", cron }),
				Code.InvalidArgument,
				never,
			);
		}
		assert.equal((await h.client.listSchedules({ environmentId: env })).schedules.length, 0);
		const { schedule } = await h.client.createSchedule({
			environmentId: env,
			taskId: "t",
			cron: "0 0 29 2 *",
		});
		await refused(
			h.client.updateSchedule({ environmentId: env, scheduleId: schedule?.id ?? "", cron: "0 0 30 2 *" }),
			Code.InvalidArgument,
			never,
		);
		const after = await h.client.getSchedule({ environmentId: env, scheduleId: schedule?.id ?? "" });
		assert.equal(after.schedule?.cron, "0 0 29 2 *");
		assert.ok(after.schedule?.nextRunAt !== undefined);
		const tasks = [{ id: "nightly", cron: "0 0 31 2 *" }];
		await refused(
			h.client.registerWorker({
				environmentId: env,
				workerId: "w_never",
				capacity: { cpu: 1, memoryGb: 1 },
				tasks,
			}),
			Code.InvalidArgument,
			/tasks\[0\]\.cron: "0 0 31 2 \*" never matches a time/,
		);
		await refused(
			h.client.createDeployment({ environmentId: env, version: "v1", tasks }),
			Code.InvalidArgument,
			/tasks\[0\]\.cron: "0 0 31 2 \*" never matches a time/,
		);
		assert.equal((await h.client.listDeployments({ environmentId: env })).deployments.length, 0);
	});

	test("a parent with attempt_id or wait but no run_id is refused by name, not dropped, and nothing is stored", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		for (const parent of [
			{ runId: "", attemptId: "attempt_x", wait: true },
			{ runId: "", attemptId: "", wait: true },
			{ runId: "", attemptId: "attempt_x", wait: false },
		]) {
			await refused(
				h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}), parent }),
				Code.InvalidArgument,
				/^parent\.run_id: is required/,
				JSON.stringify(parent),
			);
		}
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 0);
		// An empty parent says nothing, as before.
		const plain = await h.client.triggerRun({ environmentId: env, taskId: "t", parent: {} });
		assert.equal(plain.run?.parentRunId, "");
	});

	test("a run status outside the enum is refused by field in ListRuns and ResolveWait, and the wait stays pending", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		for (const status of [99, -1]) {
			await refused(
				h.client.listRuns({ environmentId: env, statuses: [RunStatus.QUEUED, status as RunStatus] }),
				Code.InvalidArgument,
				new RegExp(`^statuses\\[1\\]: ${status} is not a run status \\(expected 1 to 12\\)`),
			);
		}
		const { run } = await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const started = await worker.startNext();
		const { wait } = await h.client.beginWait({
			runId: run?.id ?? "",
			attemptId: started.attempt?.id ?? "",
			target: { case: "batchId", value: "batch_x" },
		});
		await refused(
			h.client.resolveWait({
				waitId: wait?.id ?? "",
				results: [
					{ runId: "run_a", status: RunStatus.COMPLETED },
					{ runId: "run_b", status: 99 as RunStatus },
				],
			}),
			Code.InvalidArgument,
			/^results\[1\]\.status: 99 is not a run status/,
		);
		const still = await h.client.getRun({ environmentId: env, runId: run?.id ?? "" });
		assert.equal(still.run?.status, RunStatus.WAITING);
		const results = [{ runId: "run_a", status: RunStatus.COMPLETED }];
		assert.equal((await h.client.resolveWait({ waitId: wait?.id ?? "", results })).resolved, true);
	});

	test("ListDeployments refuses a page token it did not make instead of answering the first page", async () => {
		const env = newEnvironment();
		for (const version of ["v1", "v2", "v3"]) {
			await h.client.createDeployment({ environmentId: env, version, tasks: [{ id: "t" }] });
		}
		for (const text of ["p1:abc", "p1:-2", "p1:1.5", "p1:", "p1: 1", "p1:1e3"]) {
			await refused(
				h.client.listDeployments({ environmentId: env, pageSize: 1, pageToken: token(text) }),
				Code.InvalidArgument,
				/^page_token: is not a token from a previous response/,
				text,
			);
		}
		const first = await h.client.listDeployments({ environmentId: env, pageSize: 1 });
		const second = await h.client.listDeployments({
			environmentId: env,
			pageSize: 1,
			pageToken: first.nextPageToken,
		});
		// The token it made still pages: the second page is another deployment.
		const versions = [...first.deployments, ...second.deployments].map((d) => d.version);
		assert.equal(new Set(versions).size, 2);
	});

	test("tags and idempotency keys are counted in characters, an emoji being one", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const tag = "😀".repeat(128);
		const key = "😀".repeat(256);
		const taken = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			options: { tags: [tag], idempotencyKey: key },
		});
		assert.deepEqual(taken.run?.options?.tags, [tag]);
		assert.equal(taken.run?.options?.idempotencyKey, key);
		const again = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			options: { idempotencyKey: key },
		});
		assert.equal(again.run?.id, taken.run?.id, "the key was stored whole");
		await refused(
			h.client.triggerRun({ environmentId: env, taskId: "t", options: { tags: [`${tag}😀`] } }),
			Code.InvalidArgument,
			/options\.tags\[0\]: must be 1 to 128 characters, got 129/,
		);
		await refused(
			h.client.triggerRun({ environmentId: env, taskId: "t", options: { idempotencyKey: `${key}a` } }),
			Code.InvalidArgument,
			/options\.idempotency_key: must be at most 256 characters, got 257/,
		);
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 1);
	});
});
