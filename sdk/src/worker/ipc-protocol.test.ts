import assert from "node:assert/strict";
import { test } from "node:test";
import { wireError } from "./ipc-protocol.js";

test("a thrown error crosses to the worker cut to the scheduler's bounds, its code and retryability kept", () => {
	const thrown = Object.assign(new Error("x".repeat(5 * 1024 * 1024)), { code: "E_HUGE" });
	const wire = wireError(thrown, false);
	assert.ok(wire.message.length < 17 * 1024, `${wire.message.length} characters`);
	assert.match(wire.message, /… \[\d+ more characters cut\]$/);
	assert.ok(wire.stackTrace.length <= 65 * 1024);
	assert.equal(wire.code, "E_HUGE");
	assert.equal(wire.retryable, false);
	assert.deepEqual(wireError("plain"), {
		name: "Error",
		message: "plain",
		stackTrace: "",
		code: "",
		retryable: true,
	});
});
