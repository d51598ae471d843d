import type { Clients } from "../client/clients.js";
import { call, fromConnectError } from "../client/errors.js";
import { fromProtoTimestamp, protoDuration } from "../tasks/duration.js";
import type { ActiveAttempt } from "./active-attempt.js";
import type { AttemptCalls } from "./attempt-calls.js";
import type { WireError } from "./ipc-protocol.js";
import type { OutputLimit } from "./output-limit.js";

/**
 * Tells the scheduler how an attempt ended and returns what to add to its
 * lifecycle line. A concurrent wait whose first wait already suspended the run
 * is reported as a second BeginWait, which makes the scheduler fail the run as a
 * concurrent wait (the run is WAITING, so CompleteAttempt would be refused);
 * otherwise CompleteAttempt carries the output or the error, never retryable
 * after a concurrent wait. An output the scheduler refuses for its size (or one
 * `outputLimit` already knows is over) is reported as the error OUTPUT_TOO_LARGE.
 * A failed report is part of the line, not a throw.
 */
export async function reportOutcome(
	clients: Clients,
	attempts: AttemptCalls,
	workerId: string,
	record: Pick<ActiveAttempt, "runId" | "attemptId" | "suspendedByWait">,
	result: { output: Uint8Array; outputType: string } | { error: WireError },
	concurrent: boolean,
	outputLimit: OutputLimit,
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
		const complete = (r: typeof result) =>
			call(
				attempts.complete({
					workerId,
					attemptId: record.attemptId,
					result:
						"error" in r
							? { case: "error", value: { ...r.error, retryable: r.error.retryable && !concurrent } }
							: { case: "output", value: r },
				}),
			);
		let response: Awaited<ReturnType<typeof complete>>;
		let note = "";
		const known = "output" in result ? outputLimit.check(result.output.byteLength) : undefined;
		if (known !== undefined) {
			response = await complete({ error: known });
			note = `; ${known.code}: ${known.message}`;
		} else {
			try {
				response = await complete(result);
			} catch (error) {
				// A refused output would leave the run EXECUTING until its worker is presumed
				// dead and then run it again to the same end: it fails instead, without retry.
				const tooLarge =
					"output" in result ? outputLimit.refusal(error, result.output.byteLength) : undefined;
				if (tooLarge === undefined) throw error;
				response = await complete({ error: tooLarge });
				note = `; ${tooLarge.code}: ${tooLarge.message}`;
			}
		}
		const retryAt = fromProtoTimestamp(response.retryAt);
		return retryAt === undefined ? note : `${note}; retry at ${retryAt.toISOString()}`;
	} catch (error) {
		return ` (not recorded: ${fromConnectError(error).message})`;
	}
}
