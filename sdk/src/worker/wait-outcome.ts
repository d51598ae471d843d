import { RunStatus, type WaitForResumeResponse } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { WaitOutcome } from "../tasks/attempt-runtime.js";

/** The SDK form of a resolved wait, as StartAttempt lists them. */
export function waitOutcomeOf(resolved: WaitForResumeResponse, batchId = ""): WaitOutcome {
	return {
		batchId,
		runs: resolved.results.map((r) => ({
			runId: r.runId,
			ok: r.status === RunStatus.COMPLETED,
			output: r.output,
			outputType: r.outputType,
			...(r.error === undefined
				? r.status === RunStatus.COMPLETED
					? {}
					: {
							error: {
								name: RunStatus[r.status] ?? "Error",
								message: `run ended ${RunStatus[r.status]}`,
								code: RunStatus[r.status] ?? "",
								stackTrace: "",
							},
						}
				: {
						error: {
							name: r.error.name,
							message: r.error.message,
							code: r.error.code,
							stackTrace: r.error.stackTrace,
						},
					}),
		})),
		...(resolved.error === undefined
			? {}
			: {
					error: {
						name: resolved.error.name,
						message: resolved.error.message,
						code: resolved.error.code,
						stackTrace: resolved.error.stackTrace,
					},
				}),
	};
}
