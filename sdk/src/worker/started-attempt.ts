import {
	RunStatus,
	type StartAttemptResponse,
	type WaitForResumeResponse,
} from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { AwaitedRun, WaitOutcome } from "../tasks/attempt-runtime.js";
import type { AttemptAssignment } from "./ipc-protocol.js";

/** One awaited run's outcome as a wait result or an outcome-only Run carries it. */
interface RunOutcomeFields {
	status: RunStatus;
	output: Uint8Array;
	outputType: string;
	error?: { name: string; message: string; code: string; stackTrace: string } | undefined;
}

/** The SDK form of one awaited run's outcome. */
export function awaitedRunOf(runId: string, r: RunOutcomeFields): AwaitedRun {
	return {
		runId,
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
	};
}

/**
 * The SDK form of a resolved wait, as StartAttempt lists them. A wait whose results
 * the scheduler elided has none here; see resolvedWaitOutcomes for reading them.
 */
export function waitOutcomeOf(
	resolved: WaitForResumeResponse,
	batchId = resolved.wait?.batchId ?? "",
): WaitOutcome {
	return {
		batchId,
		runs: resolved.results.map((r) => awaitedRunOf(r.runId, r)),
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

/**
 * What a child needs to run (or replay) a started attempt; `resolvedWaits` are the
 * outcomes of its resolved waits with any elided results already read back.
 */
export function assignmentOf(
	started: StartAttemptResponse,
	resolvedWaits: WaitOutcome[] = started.resolvedWaits.map((w) => waitOutcomeOf(w)),
): AttemptAssignment {
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
		resolvedWaits,
	};
}
