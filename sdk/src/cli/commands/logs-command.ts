import { LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { call } from "../../client/errors.js";
import { followTail } from "../../client/follow-tail.js";
import { sdkClients } from "../../client/sdk-config.js";
import { fromProtoTimestamp } from "../../tasks/duration.js";
import { waitForRun } from "../../tasks/trigger.js";
import { type ParsedArgs, UsageError } from "../args.js";

const decoder = new TextDecoder();

/** `taskmesh logs <run> [--follow]`: a run's log messages; with --follow, live ones until the run is final. */
export async function logsCommand(args: ParsedArgs): Promise<void> {
	const runId = args.positional[0];
	if (runId === undefined) throw new UsageError("usage: taskmesh logs <run id> [--follow]");
	const clients = sdkClients();
	const print = (r: {
		time?: { seconds: bigint; nanos: number };
		level: LogLevel;
		body: Uint8Array;
		bodyTruncated: boolean;
		bodySize: bigint;
		attributes: Record<string, string>;
	}) => {
		const attrs = Object.keys(r.attributes).length === 0 ? "" : ` ${JSON.stringify(r.attributes)}`;
		const more = r.bodyTruncated ? ` … (${r.bodySize} bytes in all)` : "";
		console.log(
			`${fromProtoTimestamp(r.time)?.toISOString() ?? ""} ${(LogLevel[r.level] ?? "").padEnd(5)} ${decoder.decode(r.body)}${more}${attrs}`,
		);
	};
	if (args.flags.get("follow") === true) {
		// Follow until the run is final, then a moment more for its last messages. A run
		// that has not logged yet is waited for; an unknown run fails through waitForRun.
		const abort = new AbortController();
		let failed: unknown;
		void waitForRun(clients, runId).then(
			() => setTimeout(() => abort.abort(), 1500),
			(error: unknown) => {
				failed = error;
				abort.abort();
			},
		);
		// Across a draining log service or a dropped stream it goes on from the last cursor.
		await followTail(clients, runId, print, abort.signal, { untilAborted: true });
		if (failed !== undefined) throw failed;
		return;
	}
	let pageToken = "";
	do {
		const page = await call(
			clients.logs.query({ environmentId: clients.environmentId, runId, pageSize: 1000, pageToken }),
		);
		for (const r of page.records) print(r);
		pageToken = page.nextPageToken;
	} while (pageToken !== "");
}
