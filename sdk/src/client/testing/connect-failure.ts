import assert from "node:assert/strict";
import { ConnectError } from "@connectrpc/connect";

/** The ConnectError a call fails with; fails the test when it succeeds or throws anything else. */
export async function connectFailure(call: Promise<unknown>): Promise<ConnectError> {
	try {
		await call;
	} catch (error) {
		assert.ok(error instanceof ConnectError, String(error));
		return error;
	}
	assert.fail("the call succeeded");
}
