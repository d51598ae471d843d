import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code } from "@connectrpc/connect";
import {
	type AttemptStreamRequest,
	type AttemptStreamResponse,
	SchedulerService,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	type GrpcServiceHost,
	registration,
	ServiceError,
	statusOf,
} from "../../../services/kit/src/index.js";
import { startTestServer } from "../../../services/kit/src/testing/grpc.js";
import { fromConnectError } from "../client/errors.js";
import { connectFailure } from "../client/testing/connect-failure.js";
import { oneServerClients } from "../client/testing/one-server-clients.js";
import { AttemptCalls } from "./attempt-calls.js";
import { OutputLimit } from "./output-limit.js";

/** The refusals the scripted scheduler gives, by run or attempt id: the same on the stream and in unary calls. */
const REFUSALS: Record<string, ServiceError> = {
	duplicate: new ServiceError("FAILED_PRECONDITION", "attempt already started by worker w2", {
		reason: "ATTEMPT_ALREADY_STARTED",
		metadata: { workerId: "w2" },
	}),
	missing: ServiceError.notFound("run", "missing"),
	"too-big": new ServiceError("INVALID_ARGUMENT", "output too large", {
		fieldViolations: [
			{
				field: "output.output",
				description: "is 200 bytes, over the limit of 100 bytes (SCHEDULER_MAX_OUTPUT_BYTES)",
			},
		],
	}),
};

/**
 * A SchedulerService on a real gRPC server. Unary StartAttempt and CompleteAttempt
 * fail with the refusal their id names. AttemptStream answers in order: a refusal
 * in-band, anything else as done; "hold" is read and left unanswered, and "boom"
 * fails the stream, as a store failure does.
 */
function scriptedScheduler(opened: { count: number }) {
	const refusal = (id: string) => REFUSALS[id] ?? new ServiceError("INTERNAL", `unscripted ${id}`);
	const idOf = (request: AttemptStreamRequest) =>
		request.kind.case === "start" ? request.kind.value.runId : (request.kind.value?.attemptId ?? "");
	return registration(SchedulerService, {
		async startAttempt(request) {
			throw refusal(request.runId);
		},
		async completeAttempt(request) {
			throw refusal(request.attemptId);
		},
		async *attemptStream(requests: AsyncIterable<AttemptStreamRequest>) {
			opened.count++;
			let sequence = 0n;
			for await (const request of requests) {
				const id = idOf(request);
				if (id === "boom") throw new ServiceError("UNAVAILABLE", "the store went away");
				if (id === "hold") continue;
				const scripted = REFUSALS[id];
				if (scripted !== undefined) {
					yield {
						sequence: sequence++,
						kind: { case: "error", value: statusOf(scripted) },
					} as AttemptStreamResponse;
				} else if (request.kind.case === "start") {
					yield {
						sequence: sequence++,
						kind: { case: "started", value: { run: { id } } },
					} as AttemptStreamResponse;
				} else {
					yield { sequence: sequence++, kind: { case: "completed", value: {} } } as AttemptStreamResponse;
				}
			}
		},
	});
}

describe("a worker's starts and completions over AttemptStream", () => {
	const opened = { count: 0 };
	let server: GrpcServiceHost;
	let attempts: AttemptCalls;
	let scheduler: ReturnType<typeof oneServerClients>["scheduler"];

	before(async () => {
		server = await startTestServer([scriptedScheduler(opened)]);
		scheduler = oneServerClients(server.url, "env_attempts").scheduler;
		attempts = new AttemptCalls(scheduler);
	});
	after(async () => {
		attempts.close();
		await server.drain();
	});

	const start = (runId: string) =>
		attempts.start({ workerId: "w1", runId, queueReceipt: "r", queueConsumerId: "w1" });
	const complete = (attemptId: string) =>
		attempts.complete({
			workerId: "w1",
			attemptId,
			result: { case: "output", value: { output: new Uint8Array(200), outputType: "application/json" } },
		});

	test("a refusal answered in-band is the ConnectError the unary call fails with: code, message and details", async () => {
		const pairs: Array<[() => Promise<unknown>, () => Promise<unknown>]> = [
			[() => start("duplicate"), () => scheduler.startAttempt({ runId: "duplicate" })],
			[() => start("missing"), () => scheduler.startAttempt({ runId: "missing" })],
			[() => complete("too-big"), () => scheduler.completeAttempt({ attemptId: "too-big" })],
		];
		for (const [streamed, unary] of pairs) {
			const [s, u] = [await connectFailure(streamed()), await connectFailure(unary())];
			assert.equal(s.code, u.code);
			assert.equal(s.rawMessage, u.rawMessage);
			assert.equal(s.message, u.message);
			const [typedS, typedU] = [fromConnectError(s), fromConnectError(u)];
			assert.equal(typedS.name, typedU.name);
			assert.equal(typedS.code, typedU.code);
			assert.deepEqual(typedS.fieldViolations, typedU.fieldViolations);
			assert.deepEqual(typedS.metadata, typedU.metadata);
		}
		assert.equal(fromConnectError(await connectFailure(start("duplicate"))).code, "ATTEMPT_ALREADY_STARTED");
		assert.equal((await connectFailure(start("missing"))).code, Code.NotFound);
	});

	test("an output refused in-band for its size becomes OUTPUT_TOO_LARGE and teaches the limit, as a unary refusal did", async () => {
		const limit = new OutputLimit();
		const error = limit.refusal(await connectFailure(complete("too-big")), 200);
		assert.equal(error?.code, "OUTPUT_TOO_LARGE");
		assert.equal(limit.check(150)?.code, "OUTPUT_TOO_LARGE", "the limit of 100 bytes was learnt");
	});

	test("a failed stream rejects every call it had not answered with its error; the next call opens a new stream", async () => {
		assert.equal((await start("first")).run?.id, "first");
		const before = opened.count;
		const held = start("hold");
		const failed = start("boom");
		for (const call of [held, failed]) {
			const error = await connectFailure(call);
			assert.equal(error.code, Code.Unavailable);
			assert.equal(error.rawMessage, "the store went away");
		}
		assert.equal((await start("after")).run?.id, "after");
		assert.equal(opened.count, before + 1, "one new stream");
		assert.deepEqual(await complete("done"), await complete("done"));
		assert.equal(opened.count, before + 1, "starts and completions share it");
	});
});
