import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
	GetRunsResponseSchema,
	RunSchema,
	RunStatus,
	TriggerRunsResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	getRunsAnswer,
	type OpaqueAnswer,
	runViewsOutput,
	triggerRunsAnswer,
	viewOfRun,
} from "./run-views.js";

/** An answer's bytes read as the batch service's client reads them. */
function asOpaque(bytes: Uint8Array, method: "triggerRuns" | "getRuns"): OpaqueAnswer {
	return fromBinary(runViewsOutput(method), bytes) as OpaqueAnswer;
}

describe("runs of TriggerRuns' and GetRuns' answers read by hand", () => {
	test("summaries and refused items, as protobuf-es reads them", () => {
		const answer = create(TriggerRunsResponseSchema, {
			runs: [
				{ id: "run_1", status: RunStatus.QUEUED, batchId: "b1", batchIndex: 4_000_000_000 },
				{ id: "run_2", status: RunStatus.COMPLETED, cached: true, batchId: "other", batchIndex: 0 },
				{},
			],
			failures: [{ index: 2, code: 3, message: "runs[2].task_id: unknown task" }],
		});
		const read = triggerRunsAnswer(asOpaque(toBinary(TriggerRunsResponseSchema, answer), "triggerRuns"));
		assert.deepStrictEqual(read.runs, answer.runs.map(viewOfRun));
		assert.deepStrictEqual(read.failures, answer.failures);
	});

	test("outcomes with output bytes and errors, a thousand in order", () => {
		const runs = Array.from({ length: 1_000 }, (_, i) =>
			create(RunSchema, {
				id: `run_${i}`,
				status: i % 2 === 0 ? RunStatus.COMPLETED : RunStatus.FAILED,
				output: Buffer.from(`{"i":${i}}`),
				outputType: "application/json",
				...(i % 2 === 1 ? { error: { name: "Error", message: `failed ${i}`, retryable: true } } : {}),
			}),
		);
		const bytes = toBinary(GetRunsResponseSchema, create(GetRunsResponseSchema, { runs }));
		const read = getRunsAnswer(asOpaque(bytes, "getRuns"));
		assert.equal(read.length, 1_000);
		assert.deepStrictEqual(read, fromBinary(GetRunsResponseSchema, bytes).runs.map(viewOfRun));
		assert.equal(Buffer.from(read[999]?.output ?? []).toString(), '{"i":999}');
		assert.equal(read[999]?.error?.message, "failed 999");
	});

	test("a run with fields the batch service does not read goes to protobuf-es whole", () => {
		const run = create(RunSchema, {
			id: "run_full",
			taskId: "child",
			status: RunStatus.EXECUTING,
			payloadType: "application/json",
			createdAt: { seconds: 5n },
		});
		const bytes = toBinary(GetRunsResponseSchema, create(GetRunsResponseSchema, { runs: [run] }));
		assert.deepStrictEqual(getRunsAnswer(asOpaque(bytes, "getRuns")), [viewOfRun(run)]);
	});
});
