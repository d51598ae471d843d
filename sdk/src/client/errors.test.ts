import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	BadRequestSchema,
	ErrorInfoSchema,
	HelpSchema,
	RetryInfoSchema,
} from "../../../gen/google/rpc/error_details_pb.js";
import {
	ConcurrentWaitError,
	fromConnectError,
	NotFoundError,
	PARALLEL_WAITS_HELP_URL,
	RateLimitedError,
	TaskmeshValidationError,
	UnauthenticatedError,
} from "./errors.js";

describe("errors decoded from status details", () => {
	test("INVALID_ARGUMENT with BadRequest becomes a validation error listing each field", () => {
		const error = new ConnectError("payload: too large", Code.InvalidArgument, undefined, [
			{
				desc: BadRequestSchema,
				value: create(BadRequestSchema, {
					fieldViolations: [
						{ field: "payload", description: "2097152 bytes is over the limit of 1048576 bytes" },
					],
				}),
			},
		]);
		const typed = fromConnectError(error);
		assert.ok(typed instanceof TaskmeshValidationError);
		assert.equal(typed.message, "payload: too large");
		assert.deepEqual(typed.fieldViolations, [
			{ field: "payload", description: "2097152 bytes is over the limit of 1048576 bytes" },
		]);
		assert.equal(typed.code, "InvalidArgument");
	});

	test("the TASK_DID_CONCURRENT_WAIT reason becomes a ConcurrentWaitError linking the docs", () => {
		const error = new ConnectError("a second wait", Code.FailedPrecondition, undefined, [
			{
				desc: ErrorInfoSchema,
				value: create(ErrorInfoSchema, { reason: "TASK_DID_CONCURRENT_WAIT", metadata: { run_id: "run_1" } }),
			},
			{
				desc: HelpSchema,
				value: create(HelpSchema, { links: [{ description: "waits", url: PARALLEL_WAITS_HELP_URL }] }),
			},
		]);
		const typed = fromConnectError(error);
		assert.ok(typed instanceof ConcurrentWaitError);
		assert.equal(typed.code, "TASK_DID_CONCURRENT_WAIT");
		assert.equal(typed.helpUrl, PARALLEL_WAITS_HELP_URL);
		assert.match(typed.message, /taskmesh\.dev\/docs\/waits#parallel-waits/);
		assert.deepEqual(typed.metadata, { run_id: "run_1" });
	});

	test("RESOURCE_EXHAUSTED with RetryInfo carries the delay to wait", () => {
		const error = new ConnectError("slow down", Code.ResourceExhausted, undefined, [
			{
				desc: RetryInfoSchema,
				value: create(RetryInfoSchema, {
					retryDelay: create(DurationSchema, { seconds: 2n, nanos: 500_000_000 }),
				}),
			},
		]);
		const typed = fromConnectError(error);
		assert.ok(typed instanceof RateLimitedError);
		assert.equal(typed.retryAfterMs, 2500);
	});

	test("NOT_FOUND and UNAUTHENTICATED map to their own classes", () => {
		assert.ok(fromConnectError(new ConnectError("run x", Code.NotFound)) instanceof NotFoundError);
		const auth = fromConnectError(new ConnectError("missing API key", Code.Unauthenticated));
		assert.ok(auth instanceof UnauthenticatedError);
		assert.equal(auth.message, "missing API key");
	});

	test("a ConcurrentWaitError made by the SDK names the rule and the docs", () => {
		const error = new ConcurrentWaitError();
		assert.equal(error.name, "ConcurrentWaitError");
		assert.match(error.message, /parallel waits/);
		assert.match(error.message, /https:\/\/taskmesh\.dev\/docs\/waits#parallel-waits/);
	});
});
