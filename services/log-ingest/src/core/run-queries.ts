import type { Queryable } from "./types.js";

/** Runs touched by a frame and how many cursor values each may need. */
export interface RunClaim {
	environmentId: string;
	runId: string;
	count: number;
}

/**
 * Creates or bumps each run's cursor counter and returns the last value handed out.
 * Claims must be sorted so concurrent frames lock run rows in one order. The row
 * lock lasts until commit: that is what orders a run's cursors by commit time.
 */
export async function claimRunCursors(client: Queryable, claims: RunClaim[]): Promise<Map<string, bigint>> {
	const result = await client.query<{ environment_id: string; run_id: string; last_seq: string }>({
		// Named, so each pooled connection parses and plans it once, not once per frame.
		name: "log-ingest-claim-run-cursors",
		text: `INSERT INTO log_runs (environment_id, run_id, last_seq)
		 SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
		 ON CONFLICT (environment_id, run_id) DO UPDATE SET last_seq = log_runs.last_seq + EXCLUDED.last_seq
		 RETURNING environment_id, run_id, last_seq`,
		values: [claims.map((c) => c.environmentId), claims.map((c) => c.runId), claims.map((c) => c.count)],
	});
	return new Map(result.rows.map((r) => [`${r.environment_id}\u0000${r.run_id}`, BigInt(r.last_seq)]));
}

/** Wakes Tail streams of these runs once the transaction commits. */
export async function notifyRuns(client: Queryable, channel: string, payloads: string[]): Promise<void> {
	if (payloads.length === 0) return;
	await client.query({
		name: "log-ingest-notify-runs",
		text: "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
		values: [channel, payloads],
	});
}
