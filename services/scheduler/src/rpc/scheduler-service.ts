import { create } from "@bufbuild/protobuf";
import { durationFromMs, durationMs } from "@bufbuild/protobuf/wkt";
import {
	GetRunsResponseSchema,
	RunStatus,
	SchedulerService,
	type TriggerRunRequest,
	TriggerRunResponseSchema,
	TriggerRunsResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	durationOverLimit,
	grpcCodeOf,
	MAX_DURATION_MS,
	registration,
	ServiceError,
	type ServiceImplementation,
	type ServiceRegistration,
	untilDrained,
} from "../../../kit/src/index.js";
import { DEFAULT_PRESET, MACHINE_PRESETS } from "../core/machine-presets.js";
import type { SchedulerEngine } from "../core/scheduler-engine.js";
import { attemptHandlers } from "./attempt-handlers.js";
import { attemptStream } from "./attempt-stream.js";
import { catalogHandlers } from "./catalog-handlers.js";
import { decodePageToken, encodePageToken, pageSizeOf, requireCount, required } from "./page-token.js";
import {
	resumeToProto,
	runStatusFromProto,
	runStatusToProto,
	runToProto,
	taskErrorFromProto,
	taskFromProto,
	ts,
	waitToProto,
	workerToProto,
} from "./proto-convert.js";
import { withRun, withRunOutcomes, withRunSummaries } from "./run-encoding.js";
import { timestampInput } from "./timestamp-input.js";
import { decodeTriggerRunsRequest, decodeTriggerStreamRequest } from "./trigger-decoding.js";
import { triggerInputFrom } from "./trigger-input.js";
import { triggerStream } from "./trigger-stream.js";

/** Most runs one TriggerRuns call may carry. */
export const MAX_TRIGGER_RUNS = 1_000;

/** Most run ids one GetRuns call may ask for. */
export const MAX_GET_RUNS = 1_000;

/**
 * Outputs and errors one GetRuns answer carries at most (it answers a prefix of
 * the ids asked): well under the 16 MiB message limit with a few 3 MiB outputs.
 */
export const GET_RUNS_BUDGET_BYTES = 8 * 1024 * 1024;

/** The largest cursor: cursors are PostgreSQL bigints, and a larger one failed the read as INTERNAL. */
const MAX_CURSOR = 2n ** 63n - 1n;

/** Refuses a cursor no feed position can have. */
function checkCursor(cursor: bigint, field: string): void {
	if (cursor > MAX_CURSOR) {
		throw ServiceError.invalidField(
			field,
			`must be at most ${MAX_CURSOR} (a cursor is a signed 64-bit number), got ${cursor}`,
		);
	}
}

/** Serves taskmesh.scheduler.v1.SchedulerService over the run engine. */
export function schedulerServiceRegistration(options: {
	engine: SchedulerEngine;
	streamPollMs: number;
	/** GET_RUNS_BUDGET_BYTES unless a test makes it small. */
	getRunsBudgetBytes?: number;
}): ServiceRegistration {
	const { engine, streamPollMs } = options;
	const getRunsBudget = options.getRunsBudgetBytes ?? GET_RUNS_BUDGET_BYTES;
	const attempts = attemptHandlers(engine);
	const triggerRun = async (request: TriggerRunRequest) => {
		required(request.environmentId, "environment_id");
		const run = await engine.trigger.trigger(triggerInputFrom(request));
		return withRun(create(TriggerRunResponseSchema), run);
	};
	const implementation: ServiceImplementation<typeof SchedulerService> = {
		...catalogHandlers(engine),
		triggerRun,

		triggerStream: (requests, context) => triggerStream(requests, context, triggerRun),

		async triggerRuns(request) {
			required(request.environmentId, "environment_id");
			requireCount("runs", request.runs.length, MAX_TRIGGER_RUNS, "runs");
			request.runs.forEach((r, i) => {
				if (r.environmentId !== "" && r.environmentId !== request.environmentId) {
					throw ServiceError.invalidField(
						`runs[${i}].environment_id`,
						`must be empty or "${request.environmentId}"`,
					);
				}
			});
			const result = await engine.trigger.triggerMany(
				request.environmentId,
				request.runs.map((r) => triggerInputFrom(r, request.environmentId)),
				request.batchId,
				request.firstIndex,
			);
			const failures = result.failures.map((f) => ({
				index: f.index,
				code: Number(grpcCodeOf(f.error.code)),
				message: f.error.message,
			}));
			if (request.summaryOnly) {
				return withRunSummaries(
					create(TriggerRunsResponseSchema, { failures }),
					result.runs.map((r) => r.run),
				);
			}
			return { runs: result.runs.map((r) => runToProto(r.run)), failures };
		},

		async *streamRunCompletions(request, context) {
			checkCursor(request.afterCursor, "after_cursor");
			// The feed ends cleanly when the server begins to drain: its reader resumes from
			// its cursor on a server that stays, instead of holding this one's drain open.
			for await (const page of untilDrained(context, (signal) =>
				engine.completions.follow(request.afterCursor, request.batchId, streamPollMs, signal),
			)) {
				yield {
					completions: page.map((c) => ({
						cursor: c.cursor,
						runId: c.runId,
						environmentId: c.environmentId,
						batchId: c.batchId,
						batchIndex: c.batchIndex,
						status: runStatusToProto(c.status),
						completedAt: ts(c.completedAt),
					})),
				};
			}
		},

		async getRun(request) {
			const run = await engine.reader.get(
				required(request.environmentId, "environment_id"),
				required(request.runId, "run_id"),
			);
			return { run: runToProto(run) };
		},

		async getRuns(request) {
			const environmentId = required(request.environmentId, "environment_id");
			requireCount("run_ids", request.runIds.length, MAX_GET_RUNS, "ids");
			request.runIds.forEach((id, i) => {
				if (id === "") throw ServiceError.invalidField(`run_ids[${i}]`, "is required");
			});
			if (request.outcomeOnly) {
				const outcomes = await engine.reader.getOutcomes(environmentId, request.runIds, getRunsBudget);
				return withRunOutcomes(create(GetRunsResponseSchema), outcomes);
			}
			const runs = await engine.reader.getMany(environmentId, request.runIds, getRunsBudget);
			return { runs: runs.map(runToProto) };
		},

		async listRuns(request) {
			required(request.environmentId, "environment_id");
			const statuses = request.statuses.map((status, i) => {
				if (status === RunStatus.UNSPECIFIED) {
					throw ServiceError.invalidField(`statuses[${i}]`, "RUN_STATUS_UNSPECIFIED is not a status");
				}
				return runStatusFromProto(status, `statuses[${i}]`);
			});
			const page = await engine.reader.list({
				environmentId: request.environmentId,
				statuses,
				taskIds: request.taskIds,
				tags: request.tags,
				queues: request.queues,
				createdFrom:
					request.created?.start === undefined
						? null
						: timestampInput("created.start", request.created.start),
				createdTo:
					request.created?.end === undefined ? null : timestampInput("created.end", request.created.end),
				batchId: request.batchId,
				pageSize: pageSizeOf(request.pageSize, 50, 500),
				afterId: decodePageToken(request.pageToken),
				budgetBytes: getRunsBudget,
			});
			return { runs: page.runs.map(runToProto), nextPageToken: encodePageToken(page.nextAfterId) };
		},

		async cancelRun(request) {
			const result = await engine.control.cancel(
				required(request.environmentId, "environment_id"),
				required(request.runId, "run_id"),
				request.cancelChildren,
			);
			return { run: runToProto(result.run), canceledRunIds: result.canceled };
		},

		async replayRun(request) {
			const run = await engine.control.replay(
				required(request.environmentId, "environment_id"),
				required(request.runId, "run_id"),
			);
			return { run: runToProto(run) };
		},

		async *waitForRun(request, context) {
			required(request.environmentId, "environment_id");
			required(request.runId, "run_id");
			// Ends cleanly at a drain, as the completion feed does: the waiter calls again
			// on a replica that stays and gets the run's current state first.
			for await (const run of untilDrained(context, (signal) =>
				engine.reader.follow(request.environmentId, request.runId, streamPollMs, signal),
			)) {
				yield { run: runToProto(run) };
			}
		},

		async listMachinePresets() {
			return { presets: MACHINE_PRESETS.map((p) => ({ ...p })), defaultPreset: DEFAULT_PRESET };
		},

		async registerWorker(request) {
			const worker = await engine.workers.register({
				environmentId: request.environmentId,
				workerId: request.workerId,
				deploymentVersion: request.deploymentVersion,
				tasks: request.tasks.map(taskFromProto),
				cpu: request.capacity?.cpu ?? 0,
				memoryGb: request.capacity?.memoryGb ?? 0,
			});
			return {
				worker: workerToProto(worker),
				heartbeatInterval: durationFromMs(engine.ctx.limits.heartbeatIntervalMs),
			};
		},

		async heartbeatWorker(request) {
			const stop = await engine.workers.heartbeat(
				required(request.workerId, "worker_id"),
				request.attemptIds,
			);
			return { stopAttemptIds: stop };
		},

		startAttempt: (request) => attempts.start(request),

		completeAttempt: (request) => attempts.complete(request),

		attemptStream: (requests, context) => attemptStream(requests, context, attempts),

		async beginWait(request) {
			required(request.runId, "run_id");
			required(request.attemptId, "attempt_id");
			const t = request.target;
			let target: Parameters<typeof engine.waits.begin>[2];
			switch (t.case) {
				case "childRunId":
					target = { childRunId: required(t.value, "child_run_id") };
					break;
				case "batchId":
					target = { batchId: required(t.value, "batch_id") };
					break;
				case "duration": {
					const ms = durationMs(t.value);
					if (ms < 0) throw ServiceError.invalidField("duration", `must not be negative, got ${ms} ms`);
					if (ms > MAX_DURATION_MS) throw ServiceError.invalidField("duration", durationOverLimit(ms));
					target = { resumeAt: new Date(engine.ctx.clock.now() + ms) };
					break;
				}
				case "until":
					target = { resumeAt: timestampInput("until", t.value) };
					break;
				default:
					throw ServiceError.invalidField(
						"target",
						"exactly one of child_run_id, batch_id, duration or until is required",
					);
			}
			const begun = await engine.waits.begin(request.runId, request.attemptId, target);
			return { wait: waitToProto(begun.wait), deliveryReleased: begun.released };
		},

		async resolveWait(request) {
			const resolved = await engine.waits.resolve(
				required(request.waitId, "wait_id"),
				request.results.map((r, i) => ({
					runId: r.runId,
					status: runStatusFromProto(r.status, `results[${i}].status`),
					output: r.output.byteLength === 0 ? null : Buffer.from(r.output).toString("base64"),
					outputType: r.outputType,
					error: r.error === undefined ? null : taskErrorFromProto(r.error),
				})),
				request.error === undefined ? null : taskErrorFromProto(request.error),
			);
			return { resolved };
		},

		async *waitForResume(request, context) {
			const waitId = required(request.waitId, "wait_id");
			// Ends cleanly (without a message) at a drain: the caller asks again on a replica that stays.
			for await (const wait of untilDrained(context, (signal) =>
				engine.waits.follow(waitId, streamPollMs, signal),
			)) {
				yield resumeToProto(wait);
			}
		},
	};
	// Runs come in by the thousand on TriggerRuns and TriggerStream: read by hand.
	return registration(SchedulerService, implementation, {
		triggerRuns: { decodeRequest: decodeTriggerRunsRequest },
		triggerStream: { decodeRequest: decodeTriggerStreamRequest },
	});
}
