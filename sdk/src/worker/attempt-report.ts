import type { Clients } from "../client/clients.js";
import { call, fromConnectError } from "../client/errors.js";
import { fromProtoTimestamp, protoDuration } from "../tasks/duration.js";
import type { ActiveAttempt } from "./active-attempt.js";
import type { WireError } from "./ipc-protocol.js";

/**
 * Tells the scheduler how an attempt ended and returns what to add to its
 * lifecycle line. A concurrent wait whose first wait already suspended the run
 * is reported as a second BeginWait, which makes the scheduler fail the run as a
 * concurrent wait (the run is WAITING, so CompleteAttempt would be refused);
 * otherwise CompleteAttempt carries the output or the error, never retryable
 * after a concurrent wait. A failed report is part of the line, not a throw.
 */
export async function reportOutcome(
	clients: Clients,
	workerId: string,
	record: Pick<ActiveAttempt, "runId" | "attemptId" | "suspendedByWait">,
	result: { output: Uint8Array; outputType: string } | { error: WireError },
	concurrent: boolean,
): Promise<string> {
	try {
		if (concurrent && record.suspendedByWait) {
			await call(
				clients.scheduler.beginWait({
					runId: record.runId,
					attemptId: record.attemptId,
					target: { case: "duration", value: protoDuration(0) },
				}),
			).catch(() => undefined);
			return "";
		}
		const response = await call(
			clients.scheduler.completeAttempt({
				workerId,
				attemptId: record.attemptId,
				result:
					"error" in result
						? { case: "error", value: { ...result.error, retryable: result.error.retryable && !concurrent } }
						: { case: "output", value: result },
			}),
		);
		const retryAt = fromProtoTimestamp(response.retryAt);
		return retryAt === undefined ? "" : `; retry at ${retryAt.toISOString()}`;
	} catch (error) {
		return ` (not recorded: ${fromConnectError(error).message})`;
	}
}
