import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	BadRequestSchema,
	ErrorInfoSchema,
	HelpSchema,
	RetryInfoSchema,
} from "../../../../gen/google/rpc/error_details_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { registration } from "../grpc/implementation.js";
import type { GrpcServiceHost } from "../grpc/server.js";
import { startTestServer, testClient } from "../testing/grpc.js";
import { type ErrorCode, ServiceError } from "./service-error.js";

// Every kit code and the status a Connect client must see for it.
const expected: Record<ErrorCode, Code> = {
	INVALID_ARGUMENT: Code.InvalidArgument,
	NOT_FOUND: Code.NotFound,
	ALREADY_EXISTS: Code.AlreadyExists,
	FAILED_PRECONDITION: Code.FailedPrecondition,
	RESOURCE_EXHAUSTED: Code.ResourceExhausted,
	UNAUTHENTICATED: Code.Unauthenticated,
	PERMISSION_DENIED: Code.PermissionDenied,
	UNAVAILABLE: Code.Unavailable,
	DEADLINE_EXCEEDED: Code.DeadlineExceeded,
	CANCELLED: Code.Canceled,
	ABORTED: Code.Aborted,
	INTERNAL: Code.Internal,
};

describe("error mapping through a real gRPC server", () => {
	let host: GrpcServiceHost;
	let thrown: unknown;

	before(async () => {
		// GetRun throws whatever the test put in `thrown`.
		host = await startTestServer([
			registration(SchedulerService, {
				async getRun() {
					throw thrown;
				},
			}),
		]);
	});
	after(() => host.forceStop());

	const call = async (error: unknown): Promise<ConnectError> => {
		thrown = error;
		const client = testClient(SchedulerService, host.url);
		try {
			await client.getRun({ environmentId: "env", runId: "run_1" });
		} catch (e) {
			return ConnectError.from(e);
		}
		assert.fail("the call should have failed");
	};

	for (const [code, connectCode] of Object.entries(expected)) {
		test(`a ServiceError with ${code} arrives with its status and message`, async () => {
			const error = await call(new ServiceError(code as ErrorCode, `something about ${code}`));
			assert.equal(error.code, connectCode);
			assert.equal(error.rawMessage, `something about ${code}`);
		});
	}

	test("field violations arrive as google.rpc.BadRequest details", async () => {
		const error = await call(
			ServiceError.invalidFields([
				{ field: "options.tags[3]", description: "must be at most 128 characters" },
				{ field: "payload", description: "is over the limit of 3 MiB" },
			]),
		);
		assert.equal(error.code, Code.InvalidArgument);
		const [badRequest] = error.findDetails(BadRequestSchema);
		assert.deepEqual(
			badRequest?.fieldViolations.map((v) => [v.field, v.description]),
			[
				["options.tags[3]", "must be at most 128 characters"],
				["payload", "is over the limit of 3 MiB"],
			],
		);
		assert.match(error.rawMessage, /options\.tags\[3\]: must be at most 128 characters/);
	});

	test("reason, retry delay and help link arrive as ErrorInfo, RetryInfo and Help", async () => {
		const error = await call(
			new ServiceError("FAILED_PRECONDITION", "parallel waits are not supported", {
				reason: "TASK_DID_CONCURRENT_WAIT",
				metadata: { run_id: "run_1" },
				retryAfterMs: 1500,
				helpUrl: "https://taskmesh.dev/docs/waits#parallel-waits",
			}),
		);
		const [info] = error.findDetails(ErrorInfoSchema);
		assert.equal(info?.reason, "TASK_DID_CONCURRENT_WAIT");
		assert.equal(info?.domain, "taskmesh.dev");
		assert.equal(info?.metadata.run_id, "run_1");
		const [retry] = error.findDetails(RetryInfoSchema);
		assert.equal(retry?.retryDelay?.seconds, 1n);
		assert.equal(retry?.retryDelay?.nanos, 500_000_000);
		const [help] = error.findDetails(HelpSchema);
		assert.equal(help?.links[0]?.url, "https://taskmesh.dev/docs/waits#parallel-waits");
	});

	test("an unexpected error becomes INTERNAL without leaking its text", async () => {
		const error = await call(new Error("password=hunter2 in connection string"));
		assert.equal(error.code, Code.Internal);
		assert.doesNotMatch(error.rawMessage, /hunter2/);
		assert.deepEqual(error.details, []);
	});

	test("a message echoing a huge input arrives clipped, and the connection goes on serving", async () => {
		const id = "x".repeat(100_000);
		const notFound = await call(ServiceError.notFound("run", id));
		assert.equal(notFound.code, Code.NotFound);
		assert.ok(notFound.rawMessage.length <= 4096, `${notFound.rawMessage.length} characters`);
		assert.match(notFound.rawMessage, /^run "x+ … \(cut; 1000\d\d characters in all\)$/);
		const emoji = "🙂".repeat(50_000);
		const violations = Array.from({ length: 100 }, (_, i) => ({
			field: `items[${i}].id`,
			description: `"${emoji}" is not an id`,
		}));
		const invalid = await call(ServiceError.invalidFields(violations));
		assert.equal(invalid.code, Code.InvalidArgument);
		assert.ok(Buffer.byteLength(invalid.rawMessage) <= 4096);
		assert.doesNotMatch(invalid.rawMessage, /\uFFFD/, "no character is cut in half");
		const [badRequest] = invalid.findDetails(BadRequestSchema);
		const kept = badRequest?.fieldViolations ?? [];
		assert.ok(kept.length >= 1 && kept.length < 100, `${kept.length} violations kept`);
		assert.equal(kept[0]?.field, "items[0].id");
		// Before, such trailers hung this call and every later one on the connection.
		const short = await call(new ServiceError("NOT_FOUND", "short"));
		assert.equal(short.rawMessage, "short");
	});

	test("a method with no implementation is UNIMPLEMENTED", async () => {
		const client = testClient(SchedulerService, host.url);
		await assert.rejects(
			client.listRuns({ environmentId: "env" }),
			(e: unknown) => ConnectError.from(e).code === Code.Unimplemented,
		);
	});
});
