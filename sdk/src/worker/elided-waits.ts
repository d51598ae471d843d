import type { StartAttemptResponse } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { Clients } from "../client/clients.js";
import { call, TaskmeshError } from "../client/errors.js";
import type { AwaitedRun, WaitOutcome } from "../tasks/attempt-runtime.js";
import { readBatchRuns } from "../tasks/trigger.js";
import { awaitedRunOf, waitOutcomeOf } from "./started-attempt.js";

/** Most run ids one GetRuns call may carry (the contract's limit). */
const GET_RUNS_MAX_IDS = 1_000;

/**
 * The outcomes of a started attempt's resolved waits, oldest first, as its replay
 * needs them. StartAttempt is one gRPC message, so the scheduler leaves older
 * waits' results out past its inline budget (`results_elided`); they are read here
 * before the child replays the task: a wait on a child run from GetRuns
 * (outcome-only), a wait on a batch from ListBatchItems, as triggerAndWait and
 * batch.triggerAndWait read them outside a task.
 */
export async function resolvedWaitOutcomes(
	clients: Clients,
	started: StartAttemptResponse,
): Promise<WaitOutcome[]> {
	const waits = started.resolvedWaits;
	const runIds = waits
		.filter((w) => w.resultsElided && (w.wait?.batchId ?? "") === "")
		.map((w) => w.wait?.childRunId ?? "");
	const runs = runIds.length === 0 ? new Map<string, AwaitedRun>() : await readRunOutcomes(clients, runIds);
	const outcomes: WaitOutcome[] = [];
	for (const w of waits) {
		const outcome = waitOutcomeOf(w);
		if (!w.resultsElided) {
			outcomes.push(outcome);
		} else if (outcome.batchId !== "") {
			outcomes.push({ ...outcome, runs: await readBatchRuns(clients, outcome.batchId) });
		} else {
			const runId = w.wait?.childRunId ?? "";
			const run = runs.get(runId);
			if (run === undefined)
				throw new TaskmeshError(`wait ${w.wait?.id}: its child run "${runId}" was not found`);
			outcomes.push({ ...outcome, runs: [run] });
		}
	}
	return outcomes;
}

/** Outcomes of runs by id; GetRuns answers a prefix within its byte budget, so the rest is asked again. */
async function readRunOutcomes(clients: Clients, runIds: string[]): Promise<Map<string, AwaitedRun>> {
	const found = new Map<string, AwaitedRun>();
	let rest = [...new Set(runIds)];
	while (rest.length > 0) {
		const { runs } = await call(
			clients.scheduler.getRuns({
				environmentId: clients.environmentId,
				runIds: rest.slice(0, GET_RUNS_MAX_IDS),
				outcomeOnly: true,
			}),
		);
		// The scheduler answers at least one run; none would mean asking forever.
		if (runs.length === 0) throw new TaskmeshError("GetRuns answered no runs for the elided waits");
		for (const run of runs) found.set(run.id, awaitedRunOf(run.id, run));
		rest = rest.slice(runs.length);
	}
	return found;
}
