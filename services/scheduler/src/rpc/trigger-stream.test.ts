import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	RunStatus,
	type TriggerStreamRequest,
	TriggerStreamRequestSchema,
	type TriggerStreamResponse,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { answeredStream } from "../testing/answered-stream.js";
import {
	drainingServer,
	json,
	newEnvironment,
	type SchedulerHarness,
	schedulerSuite,
	TestWorker,
} from "../testing/scheduler-fixture.js";

/** An open TriggerStream: send a run to trigger, read its answer. */
function openStream(client: SchedulerHarness["client"]) {
	const stream = answeredStream((requests: AsyncIterable<TriggerStreamRequest>) =>
		client.triggerStream(requests),
	);
	return {
		...stream,
		send: (run: MessageInitShape<typeof TriggerStreamRequestSchema>["run"]) =>
			stream.send(create(TriggerStreamRequestSchema, { run })),
	};
}

/** The error of an answer, or a failure when it has none. */
function errorOf(answer: TriggerStreamResponse) {
	if (answer.kind.case !== "error") assert.fail(`expected an error, got ${answer.kind.case}`);
	return answer.kind.value;
}

describe("TriggerStream through gRPC", () => {
	let h: SchedulerHarness;
	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	test("triggers on one stream are answered in order, stored and delivered as TriggerRun's are", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const stream = openStream(h.client);
		for (let i = 0; i < 20; i++) {
			await stream.send({
				environmentId: env,
				taskId: "t",
				payload: json({ i }),
				options: { tags: [`n${i}`] },
			});
		}
		const ids: string[] = [];
		for (let i = 0; i < 20; i++) {
			const answer = await stream.next();
			assert.equal(answer.sequence, BigInt(i));
			assert.equal(answer.kind.case, "triggered");
			const run = answer.kind.case === "triggered" ? answer.kind.value.run : undefined;
			assert.equal(run?.status, RunStatus.QUEUED);
			// Answered in order: each answer is the run of the request at its place.
			assert.deepEqual(run?.options?.tags, [`n${i}`]);
			ids.push(run?.id ?? "");
		}
		stream.end();
		assert.equal(await stream.ended(), true);
		const { runs } = await h.client.getRuns({ environmentId: env, runIds: ids });
		assert.deepEqual(
			runs.map((r) => r.id),
			ids,
		);
		const { run: stored } = await h.client.getRun({ environmentId: env, runId: ids[7] as string });
		assert.deepEqual(JSON.parse(new TextDecoder().decode(stored?.payload)), { i: 7 });
		const delivered = await worker.take(20);
		assert.equal(delivered.length, 20);
		assert.deepEqual(new Set(delivered.map((d) => d.message?.metadata?.runId)), new Set(ids));
	});

	test("an idempotency key on the stream returns the first run, marked cached", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const first = await h.client.triggerRun({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "once" },
		});
		const stream = openStream(h.client);
		await stream.send({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			options: { idempotencyKey: "once" },
		});
		const answer = await stream.next();
		const run = answer.kind.case === "triggered" ? answer.kind.value.run : undefined;
		assert.equal(run?.id, first.run?.id);
		assert.equal(run?.cached, true);
		stream.end();
	});

	test("a refused request is answered with TriggerRun's status, nothing is stored, and the stream goes on", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const stream = openStream(h.client);
		const bad = [
			{ environmentId: env, taskId: "nope", payload: json({}) },
			{
				environmentId: env,
				taskId: "t",
				payload: json({}),
				options: { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
			},
			{ environmentId: "", taskId: "t", payload: json({}) },
		];
		for (const request of bad) {
			let unary: ConnectError | undefined;
			await h.client.triggerRun(request).catch((error: unknown) => {
				unary = ConnectError.from(error);
			});
			assert.ok(unary !== undefined, "the unary call was refused");
			await stream.send(request);
			const error = errorOf(await stream.next());
			assert.equal(error.code, unary.code);
			assert.equal(error.message, unary.rawMessage);
		}
		await stream.send({
			environmentId: env,
			taskId: "t",
			payload: json({}),
			parent: { runId: "run_x", attemptId: "a" },
		});
		let error = errorOf(await stream.next());
		assert.equal(error.code, Code.InvalidArgument);
		assert.match(error.message, /run\.parent: is not accepted on TriggerStream; use TriggerRun/);
		await stream.send(undefined);
		error = errorOf(await stream.next());
		assert.equal(error.code, Code.InvalidArgument);
		assert.match(error.message, /run: is required/);
		// Nothing of the refused requests was stored; the stream still triggers.
		const listed = await h.client.listRuns({ environmentId: env });
		assert.equal(listed.runs.length, 0);
		await stream.send({ environmentId: env, taskId: "t", payload: json({}) });
		const answer = await stream.next();
		assert.equal(answer.sequence, 5n);
		assert.equal(answer.kind.case, "triggered");
		stream.end();
		assert.equal((await h.client.listRuns({ environmentId: env })).runs.length, 1);
	});

	test("a draining scheduler ends the stream cleanly after what it read, without waiting out the drain", async () => {
		const env = newEnvironment();
		await TestWorker.register(h, env, [{ id: "t" }]);
		const draining = await drainingServer(h);
		const stream = openStream(draining.client);
		await stream.send({ environmentId: env, taskId: "t", payload: json({}) });
		assert.equal((await stream.next()).kind.case, "triggered");
		await draining.drainPromptly(async () => assert.equal(await stream.ended(), true));
		stream.end();
	});
});
