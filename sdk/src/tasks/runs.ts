import { RunStatus } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { call, TaskmeshValidationError } from "../client/errors.js";
import { sdkClients } from "../client/sdk-config.js";
import { protoTimestamp } from "./duration.js";
import { type RunInfo, type RunStatusName, runInfoOf } from "./run-info.js";
import { waitForRun } from "./trigger.js";

/** Filters of runs.list; values of one filter combine with OR. */
export interface ListRunsOptions {
	status?: RunStatusName | RunStatusName[];
	taskId?: string | string[];
	tag?: string | string[];
	queue?: string | string[];
	batchId?: string;
	from?: Date;
	to?: Date;
	/** 1 to 500; 50 by default. */
	limit?: number;
	/** From a previous page's nextCursor. */
	cursor?: string;
}

/** One page of runs, newest first. */
export interface RunPage {
	runs: RunInfo[];
	/** Pass to the next call; empty on the last page. */
	nextCursor: string;
}

/** Reading and managing runs. */
export const runs = {
	/** One run with its attempts. */
	async retrieve(runId: string): Promise<RunInfo> {
		const clients = sdkClients();
		const response = await call(clients.scheduler.getRun({ environmentId: clients.environmentId, runId }));
		if (response.run === undefined)
			throw new TaskmeshValidationError(`run ${runId}: the service returned no run`);
		return runInfoOf(response.run);
	},
	/** Runs matching the filters, newest first. */
	async list(options: ListRunsOptions = {}): Promise<RunPage> {
		const clients = sdkClients();
		const statuses = list(options.status).map((s) => {
			const value = RunStatus[s as keyof typeof RunStatus];
			if (value === undefined || value === RunStatus.UNSPECIFIED) {
				throw new TaskmeshValidationError(`status: "${s}" is not a run status`, {
					code: "INVALID_ARGUMENT",
					fieldViolations: [{ field: "status", description: `"${s}" is not a run status` }],
				});
			}
			return value;
		});
		const created =
			options.from === undefined && options.to === undefined
				? undefined
				: {
						...(options.from === undefined ? {} : { start: protoTimestamp(options.from) }),
						...(options.to === undefined ? {} : { end: protoTimestamp(options.to) }),
					};
		const response = await call(
			clients.scheduler.listRuns({
				environmentId: clients.environmentId,
				statuses,
				taskIds: list(options.taskId),
				tags: list(options.tag),
				queues: list(options.queue),
				batchId: options.batchId ?? "",
				pageSize: options.limit ?? 0,
				pageToken: options.cursor ?? "",
				...(created === undefined ? {} : { created }),
			}),
		);
		return { runs: response.runs.map(runInfoOf), nextCursor: response.nextPageToken };
	},
	/** Cancels a run that is not final (and its descendants unless told otherwise). */
	async cancel(
		runId: string,
		options: { cancelChildren?: boolean } = {},
	): Promise<{ run: RunInfo; canceledRunIds: string[] }> {
		const clients = sdkClients();
		const response = await call(
			clients.scheduler.cancelRun({
				environmentId: clients.environmentId,
				runId,
				cancelChildren: options.cancelChildren ?? true,
			}),
		);
		return { run: runInfoOf(response.run ?? ({} as never)), canceledRunIds: response.canceledRunIds };
	},
	/** Triggers a new run with the same task, payload and options. */
	async replay(runId: string): Promise<RunInfo> {
		const clients = sdkClients();
		const response = await call(clients.scheduler.replayRun({ environmentId: clients.environmentId, runId }));
		return runInfoOf(response.run ?? ({} as never));
	},
	/** Waits until a run is final and returns it. */
	async poll(runId: string): Promise<RunInfo> {
		return waitForRun(sdkClients(), runId);
	},
};

function list<T>(value: T | T[] | undefined): T[] {
	if (value === undefined) return [];
	return Array.isArray(value) ? value : [value];
}
