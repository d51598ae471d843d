import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	type AttemptStreamRequest,
	AttemptStreamRequestSchema,
	RunStatus,
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

/** An open AttemptStream: send a request by its kind, read its answer. */
function openStream(client: SchedulerHarness["client"]) {
	const stream = answeredStream((requests: AsyncIterable<AttemptStreamRequest>) =>
		client.attemptStream(requests),
	);
	return {
		...stream,
		send: (kind: MessageInitShape<typeof AttemptStreamRequestSchema>["kind"]) =>
			stream.send(create(AttemptStreamRequestSchema, { kind })),
	};
}

/** The code and message a unary call fails with. */
async function unaryFailure(call: Promise<unknown>): Promise<{ code: Code; message: string }> {
	try {
		await call;
	} catch (error) {
		const e = ConnectError.from(error);
		return { code: e.code, message: e.rawMessage };
	}
	assert.fail("the call succeeded");
}

describe("AttemptStream through gRPC", () => {
	let h: SchedulerHarness;
	schedulerSuite({ SCHEDULER_HEARTBEAT_INTERVAL_MS: "600000" }, (started) => {
		h = started;
	});

	test("starts and completions on one stream are answered in order and change runs as the unary calls do", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		const triggered = await Promise.all(
			[0, 1, 2].map((i) => h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({ i }) })),
		);
		const deliveries = await worker.take(3);
		assert.equal(deliveries.length, 3);
		const stream = openStream(h.client);
		for (const d of deliveries) {
			await stream.send({
				case: "start",
				value: { workerId: worker.id, runId: d.message?.metadata?.runId ?? "", queueReceipt: d.receipt },
			});
		}
		const attempts: string[] = [];
		for (const [i, d] of deliveries.entries()) {
			const answer = await stream.next();
			assert.equal(answer.sequence, BigInt(i));
			assert.equal(answer.kind.case, "started");
			const started = answer.kind.value as { run?: { id: string; status: RunStatus; payload: Uint8Array } };
			assert.equal(started.run?.id, d.message?.metadata?.runId);
			assert.equal(started.run?.status, RunStatus.EXECUTING);
			// The run comes with its payload, as StartAttempt's does.
			assert.ok((started.run?.payload.byteLength ?? 0) > 0);
			attempts.push(answer.kind.case === "started" ? (answer.kind.value.attempt?.id ?? "") : "");
		}
		for (const [i, attemptId] of attempts.entries()) {
			await stream.send({
				case: "complete",
				value: {
					workerId: worker.id,
					attemptId,
					result: { case: "output", value: { output: json({ done: i }), outputType: "application/json" } },
				},
			});
		}
		for (let i = 0; i < 3; i++) {
			const answer = await stream.next();
			assert.equal(answer.sequence, BigInt(3 + i));
			assert.equal(answer.kind.case, "completed");
			assert.equal(answer.kind.case === "completed" && answer.kind.value.run?.status, RunStatus.COMPLETED);
		}
		stream.end();
		assert.equal(await stream.ended(), true);
		for (const t of triggered) {
			const { run } = await h.client.getRun({ environmentId: env, runId: t.run?.id ?? "" });
			assert.equal(run?.status, RunStatus.COMPLETED);
			assert.equal(run?.attempts.length, 1);
		}
	});

	test("a refused request is answered with the unary call's status and the stream goes on", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const [delivery] = await worker.take(1);
		assert.ok(delivery !== undefined);
		const runId = delivery.message?.metadata?.runId ?? "";
		const stream = openStream(h.client);

		// An unknown run: NOT_FOUND, as StartAttempt says it.
		const unknown = { workerId: worker.id, runId: "run_unknown" };
		const expected = await unaryFailure(h.client.startAttempt(unknown));
		await stream.send({ case: "start", value: unknown });
		let answer = await stream.next();
		assert.equal(answer.kind.case, "error");
		assert.equal(answer.kind.case === "error" && answer.kind.value.code, Code.NotFound);
		assert.equal(answer.kind.case === "error" && answer.kind.value.message, expected.message);

		// No kind at all, then a completion without a result: INVALID_ARGUMENT naming the field.
		await stream.send({ case: undefined });
		answer = await stream.next();
		assert.equal(answer.kind.case === "error" && answer.kind.value.code, Code.InvalidArgument);
		assert.match(
			answer.kind.case === "error" ? answer.kind.value.message : "",
			/kind: exactly one of start or complete/,
		);
		await stream.send({ case: "complete", value: { workerId: worker.id, attemptId: "attempt_x" } });
		answer = await stream.next();
		assert.equal(answer.kind.case === "error" && answer.kind.value.code, Code.InvalidArgument);
		assert.match(
			answer.kind.case === "error" ? answer.kind.value.message : "",
			/result: exactly one of output or error/,
		);

		// The stream goes on: the real start works; the same start sent again returns its
		// attempt, and a start of the run by another worker is refused.
		const start = { workerId: worker.id, runId, queueReceipt: delivery.receipt };
		await stream.send({ case: "start", value: start });
		answer = await stream.next();
		assert.equal(answer.sequence, 3n);
		assert.equal(answer.kind.case === "started" && answer.kind.value.run?.status, RunStatus.EXECUTING);
		const attemptId = answer.kind.case === "started" ? answer.kind.value.attempt?.id : undefined;
		await stream.send({ case: "start", value: start });
		answer = await stream.next();
		assert.equal(answer.kind.case === "started" && answer.kind.value.attempt?.id, attemptId);
		const other = await TestWorker.register(h, env, [{ id: "t" }]);
		await stream.send({ case: "start", value: { ...start, workerId: other.id } });
		answer = await stream.next();
		assert.equal(answer.kind.case === "error" && answer.kind.value.code, Code.FailedPrecondition);
		stream.end();
		const { run } = await h.client.getRun({ environmentId: env, runId });
		assert.equal(run?.status, RunStatus.EXECUTING);
		assert.equal(run?.attempts.length, 1);
	});

	test("a draining scheduler ends the stream cleanly after what it read, without waiting out the drain", async () => {
		const env = newEnvironment();
		const worker = await TestWorker.register(h, env, [{ id: "t" }]);
		await h.client.triggerRun({ environmentId: env, taskId: "t", payload: json({}) });
		const [delivery] = await worker.take(1);
		assert.ok(delivery !== undefined);
		const draining = await drainingServer(h);
		const stream = openStream(draining.client);
		await stream.send({
			case: "start",
			value: {
				workerId: worker.id,
				runId: delivery.message?.metadata?.runId ?? "",
				queueReceipt: delivery.receipt,
			},
		});
		assert.equal((await stream.next()).kind.case, "started");
		await draining.drainPromptly(async () => assert.equal(await stream.ended(), true));
		stream.end();
	});
});
