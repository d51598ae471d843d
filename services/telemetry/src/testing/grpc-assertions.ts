import assert from "node:assert/strict";
import { type Code, ConnectError } from "@connectrpc/connect";
import type pg from "pg";

/** An assert.rejects check: a ConnectError with this code and a message matching pattern. */
export function rejectsWith(code: Code, pattern: RegExp) {
	return (error: unknown) => {
		assert.ok(error instanceof ConnectError, String(error));
		assert.equal(error.code, code, error.message);
		assert.match(error.message, pattern);
		return true;
	};
}

/** How many exporters the registry stores for an environment. */
export async function storedExporters(pool: pg.Pool, environmentId: string): Promise<number> {
	const rows = await pool.query("SELECT count(*)::int AS n FROM exporters WHERE environment_id = $1", [
		environmentId,
	]);
	return rows.rows[0].n as number;
}
