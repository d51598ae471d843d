import { Code, ConnectError } from "@connectrpc/connect";
import { backOff } from "exponential-backoff";
import type { LogRecord } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import type { Clients } from "./clients.js";
import { fromConnectError } from "./errors.js";
import { isResumable, RESUME_BACKOFF } from "./follow-until-final.js";

/** What one Tail stream came to. */
type TailEnd = "aborted" | "progressed";

/**
 * Follows a run's log messages (Tail) until the signal aborts, handing each record
 * to `onRecord` once, in order. A server ends Tail cleanly when it drains, and a
 * stream can drop with UNAVAILABLE: the stream is opened again from the last
 * record's cursor, at once when the last one delivered anything, else after a
 * growing pause (RESUME_BACKOFF). Any other error is thrown as the SDK's typed error.
 */
export async function followTail(
	clients: Clients,
	runId: string,
	onRecord: (record: LogRecord) => void,
	signal: AbortSignal,
	options: { untilAborted?: boolean } = {},
): Promise<void> {
	// With untilAborted (the caller aborts once the run is final), a run that has not
	// logged yet (NOT_FOUND) and a service that stays away are waited out, however long.
	const retryable = (error: unknown) =>
		isResumable(error) ||
		(options.untilAborted === true && error instanceof ConnectError && error.code === Code.NotFound);
	let cursor = "";
	const tailOnce = async (): Promise<TailEnd> => {
		let delivered = false;
		try {
			for await (const frame of clients.logs.tail(
				{ environmentId: clients.environmentId, runId, cursor },
				{ signal },
			)) {
				for (const record of frame.records) {
					onRecord(record);
					cursor = record.cursor;
				}
				delivered = true;
			}
		} catch (error) {
			if (signal.aborted) return "aborted";
			if (!(delivered && retryable(error))) throw error;
		}
		if (signal.aborted) return "aborted";
		if (delivered) return "progressed";
		throw new ConnectError(`run ${runId}: the log stream ended before any message`, Code.Unavailable);
	};
	for (;;) {
		const end = await backOff(tailOnce, {
			...RESUME_BACKOFF,
			...(options.untilAborted === true ? { numOfAttempts: Number.MAX_SAFE_INTEGER } : {}),
			retry: (error: unknown) => !signal.aborted && retryable(error),
		}).catch((error: unknown) => {
			if (signal.aborted) return "aborted" as const;
			throw fromConnectError(error);
		});
		if (end === "aborted") return;
	}
}
