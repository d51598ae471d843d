import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { type TaskError, TaskErrorSchema } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import { RunStatus, type SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type ErrorCode, ServiceError } from "../../../kit/src/index.js";
import {
	type ChildError,
	type ChildOutcome,
	type ChildRuns,
	type ChildState,
	type CreatedChild,
	FINAL_RUN_STATUSES,
	type ItemToCreate,
} from "../core/types.js";
import type { ItemBody } from "./item-body.js";
import { getRunsAnswer, type RunView, type RunViewsClient, triggerRunsAnswer } from "./run-views.js";
import { triggerRunsRequestOf } from "./trigger-runs-encoding.js";

/** A field's place in a TriggerRuns call, at the start of each of a refusal's violations. */
const SCHEDULER_ITEM_PREFIX = /(^|; )runs\[\d+\]\./g;

/** Most ids one GetRuns call takes (the scheduler's limit). */
const GET_RUNS_MAX = 1_000;

/** A run status without its RUN_STATUS_ prefix ("COMPLETED"). */
export function statusName(status: RunStatus): string {
	return RunStatus[status] ?? "UNSPECIFIED";
}

/** The RunStatus of a stored status name. */
export function runStatusOf(name: string): RunStatus {
	return (RunStatus as unknown as Record<string, RunStatus>)[name] ?? RunStatus.UNSPECIFIED;
}

/**
 * The batch core's view of the run engine, over the generated SchedulerService
 * client. Scheduler errors become ServiceErrors: its verdicts on input keep
 * their code, anything else is UNAVAILABLE so callers know to retry.
 */
export class SchedulerChildren implements ChildRuns {
	readonly #client: Client<typeof SchedulerService>;
	readonly #runs: RunViewsClient;

	/** `runs`: a client of schedulerRunViews on the same transport as `client`. */
	constructor(client: Client<typeof SchedulerService>, runs: RunViewsClient) {
		this.#client = client;
		this.#runs = runs;
	}

	async triggerRuns(options: Parameters<ChildRuns["triggerRuns"]>[0]) {
		const parent =
			options.parentRunId === ""
				? undefined
				: { runId: options.parentRunId, attemptId: options.parentAttemptId };
		const request = triggerRunsRequestOf({
			environmentId: options.environmentId,
			batchId: options.batchId,
			firstIndex: options.firstIndex,
			bodies: options.items.map((item) => item.body as ItemBody),
			parent,
		});
		const response = triggerRunsAnswer(await call("TriggerRuns", () => this.#runs.triggerRuns(request)));
		// Accepted runs come back in request order; their batch index says which item each is.
		const created: CreatedChild[] = response.runs.map(childOf);
		const rejected = response.failures.map((f) => ({
			index: (options.items[f.index] as ItemToCreate | undefined)?.index ?? options.firstIndex + f.index,
			code: f.code,
			// The scheduler names fields by their place in this TriggerRuns call
			// ("runs[3].task_id"); the batch names the item itself ("items[1003]: task_id").
			message: f.message.replace(SCHEDULER_ITEM_PREFIX, "$1"),
		}));
		return { created, rejected };
	}

	async *completions(afterCursor: bigint, signal: AbortSignal): AsyncIterable<ChildOutcome[]> {
		const stream = this.#client.streamRunCompletions({ afterCursor }, { signal });
		for await (const message of stream) {
			yield message.completions.map((c) => ({
				cursor: c.cursor,
				runId: c.runId,
				batchId: c.batchId,
				batchIndex: c.batchIndex,
				status: statusName(c.status),
			}));
		}
	}

	async getChild(environmentId: string, runId: string): Promise<ChildState> {
		const { run } = await call("GetRun", () => this.#client.getRun({ environmentId, runId }));
		if (run === undefined)
			throw new ServiceError("UNAVAILABLE", `the scheduler returned no run for ${runId}`);
		return childStateOf(run);
	}

	async getChildren(environmentId: string, runIds: string[]): Promise<ChildState[]> {
		const states: ChildState[] = [];
		// GetRuns answers a prefix when outputs are large: ask again from the first left out.
		while (states.length < runIds.length) {
			const asked = runIds.slice(states.length, states.length + GET_RUNS_MAX);
			const runs = getRunsAnswer(
				await call("GetRuns", () => this.#runs.getRuns({ environmentId, runIds: asked, outcomeOnly: true })),
			);
			if (runs.length === 0 || runs.length > asked.length)
				throw new ServiceError(
					"UNAVAILABLE",
					`the scheduler answered ${runs.length} of ${asked.length} runs`,
				);
			for (const run of runs) states.push(childStateOf(run));
		}
		return states;
	}

	async beginWait(runId: string, attemptId: string, batchId: string): Promise<string> {
		const { wait } = await call("BeginWait", () =>
			this.#client.beginWait({ runId, attemptId, target: { case: "batchId", value: batchId } }),
		);
		if (wait === undefined)
			throw new ServiceError("UNAVAILABLE", "the scheduler began a wait but returned none");
		return wait.id;
	}

	async resolveWait(waitId: string, outcome: Parameters<ChildRuns["resolveWait"]>[1]): Promise<void> {
		await call("ResolveWait", () =>
			this.#client.resolveWait(
				"error" in outcome
					? { waitId, error: create(TaskErrorSchema, outcome.error) }
					: {
							waitId,
							results: outcome.results.map((r) => ({
								runId: r.runId,
								status: runStatusOf(r.status),
								output: r.output,
								outputType: r.outputType,
								...(r.error === undefined ? {} : { error: r.error }),
							})),
						},
			),
		);
	}

	async cancel(environmentId: string, runId: string): Promise<void> {
		await call("CancelRun", () => this.#client.cancelRun({ environmentId, runId }));
	}
}

function childOf(run: RunView): CreatedChild {
	return {
		index: run.batchIndex,
		runId: run.id,
		status: statusName(run.status),
		cached: run.cached,
		runBatchId: run.batchId,
		runBatchIndex: run.batchIndex,
	};
}

function childErrorOf(error: TaskError): ChildError {
	return {
		name: error.name,
		message: error.message,
		code: error.code,
		stackTrace: error.stackTrace,
		retryable: error.retryable,
	};
}

const PASSED_THROUGH: Partial<Record<Code, ErrorCode>> = {
	[Code.InvalidArgument]: "INVALID_ARGUMENT",
	[Code.NotFound]: "NOT_FOUND",
	[Code.FailedPrecondition]: "FAILED_PRECONDITION",
	[Code.PermissionDenied]: "PERMISSION_DENIED",
	[Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
	[Code.AlreadyExists]: "ALREADY_EXISTS",
};

async function call<T>(method: string, fn: () => Promise<T>): Promise<T> {
	try {
		return await fn();
	} catch (error) {
		const connect = ConnectError.from(error);
		const code = PASSED_THROUGH[connect.code];
		if (code !== undefined) throw new ServiceError(code, `scheduler ${method}: ${connect.rawMessage}`);
		throw new ServiceError("UNAVAILABLE", `scheduler ${method} failed: ${connect.rawMessage}`, {
			retryAfterMs: 1_000,
			cause: error,
		});
	}
}

function childStateOf(run: RunView): ChildState {
	const status = statusName(run.status);
	return {
		runId: run.id,
		status,
		final: FINAL_RUN_STATUSES.has(status),
		output: run.output,
		outputType: run.outputType,
		error: run.error === undefined ? undefined : childErrorOf(run.error),
	};
}
