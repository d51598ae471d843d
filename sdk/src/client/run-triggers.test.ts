import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
	SchedulerService,
	type TriggerStreamRequest,
	type TriggerStreamResponse,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	type GrpcServiceHost,
	registration,
	ServiceError,
	statusOf,
} from "../../../services/kit/src/index.js";
import { startTestServer } from "../../../services/kit/src/testing/grpc.js";
import { fromConnectError } from "./errors.js";
import { RunTriggers } from "./run-triggers.js";
import { connectFailure } from "./testing/connect-failure.js";
import { oneServerClients } from "./testing/one-server-clients.js";

const REFUSED = new ServiceError("INVALID_ARGUMENT", "unknown task", {
	fieldViolations: [{ field: "task_id", description: 'no task "refused" is registered' }],
});

/**
 * A SchedulerService on a real gRPC server: TriggerRun and TriggerStream create a
 * run named after the task, except the task "refused", which both refuse alike
 * (the stream in-band). It counts streams opened and unary calls.
 */
function scriptedScheduler(counts: { streams: number; unary: number }) {
	const run = (taskId: string) => ({ run: { id: `run_${taskId}`, taskId } });
	return registration(SchedulerService, {
		async triggerRun(request) {
			counts.unary++;
			if (request.taskId === "refused") throw REFUSED;
			return run(request.taskId);
		},
		async *triggerStream(requests: AsyncIterable<TriggerStreamRequest>) {
			counts.streams++;
			let sequence = 0n;
			for await (const request of requests) {
				const taskId = request.run?.taskId ?? "";
				yield (
					taskId === "refused"
						? { sequence: sequence++, kind: { case: "error", value: statusOf(REFUSED) } }
						: { sequence: sequence++, kind: { case: "triggered", value: run(taskId) } }
				) as TriggerStreamResponse;
			}
		},
	});
}

describe("triggers over TriggerStream", () => {
	const counts = { streams: 0, unary: 0 };
	let server: GrpcServiceHost;
	let triggers: RunTriggers;
	let scheduler: ReturnType<typeof oneServerClients>["scheduler"];

	before(async () => {
		server = await startTestServer([scriptedScheduler(counts)]);
		scheduler = oneServerClients(server.url, "env_triggers").scheduler;
		triggers = new RunTriggers({ scheduler, maxMessageBytes: 16 * 1024 * 1024, idleCloseMs: 100 });
	});
	after(async () => {
		triggers.close();
		await server.drain();
	});

	test("runs without a parent share one stream; a refusal is the ConnectError unary TriggerRun fails with", async () => {
		const handles = await Promise.all(["a", "b", "c"].map((taskId) => triggers.trigger({ taskId })));
		assert.deepEqual(
			handles.map((h) => h.run?.id),
			["run_a", "run_b", "run_c"],
		);
		const streamed = await connectFailure(triggers.trigger({ taskId: "refused" }));
		assert.deepEqual(counts, { streams: 1, unary: 0 });
		const unary = await connectFailure(scheduler.triggerRun({ taskId: "refused" }));
		assert.equal(streamed.code, unary.code);
		assert.equal(streamed.message, unary.message);
		assert.deepEqual(fromConnectError(streamed).fieldViolations, fromConnectError(unary).fieldViolations);
		assert.equal(fromConnectError(streamed).name, "TaskmeshValidationError");
	});

	test("a run with a parent, or a payload near the message limit, takes unary TriggerRun", async () => {
		const { streams, unary } = counts;
		await triggers.trigger({ taskId: "child", parent: { runId: "run_p", attemptId: "att_p", wait: false } });
		await triggers.trigger({ taskId: "big", payload: new Uint8Array(16 * 1024 * 1024 - 1024) });
		assert.deepEqual(counts, { streams, unary: unary + 2 });
	});

	test("an idle stream is closed, and the next trigger opens another", async () => {
		await triggers.trigger({ taskId: "d" });
		const { streams } = counts;
		await new Promise((resolve) => setTimeout(resolve, 300));
		await triggers.trigger({ taskId: "e" });
		assert.equal(counts.streams, streams + 1);
	});
});
