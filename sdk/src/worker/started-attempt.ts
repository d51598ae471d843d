import {
	RunStatus,
	type StartAttemptResponse,
	type WaitForResumeResponse,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { WaitOutcome } from "../tasks/attempt-runtime.js";
import type { AttemptAssignment } from "./ipc-protocol.js";

/** The SDK form of a resolved wait, as StartAttempt lists them. */
export function waitOutcomeOf(
	resolved: WaitForResumeResponse,
	batchId = resolved.wait?.batchId ?? "",
): WaitOutcome {
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

/** What a child needs to run (or replay) a started attempt. */
export function assignmentOf(started: StartAttemptResponse): AttemptAssignment {
	const run = started.run;
	const attempt = started.attempt;
	if (run === undefined || attempt === undefined) throw new Error("StartAttempt returned no run or attempt");
	return {
		ctx: {
			run: {
				id: run.id,
				tags: run.options?.tags ?? [],
				isReplay: started.resolvedWaits.length > 0,
				batchId: run.batchId,
				parentRunId: run.parentRunId,
			},
			attempt: { id: attempt.id, number: attempt.number },
			task: { id: run.taskId },
			environment: { id: run.environmentId },
			machine: {
				name: run.machine?.name ?? "",
				cpu: run.machine?.cpu ?? 0,
				memoryGb: run.machine?.memoryGb ?? 0,
			},
		},
		payload: run.payload,
		payloadType: run.payloadType,
		resolvedWaits: started.resolvedWaits.map((w) => waitOutcomeOf(w)),
	};
}
