import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
	RunSchema,
	RunStatus,
	TriggerRunsResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { responseView, type TriggerRunsView } from "./trigger-runs-view.js";

test("every field of the TriggerRuns view has the contract's number and kind for its name", () => {
	const runView = responseView.fields[0]?.message;
	assert.ok(runView !== undefined);
	for (const field of runView.fields) {
		const real = RunSchema.fields.find((f) => f.name === field.name);
		assert.ok(real !== undefined, `Run has no field ${field.name}`);
		assert.equal(field.number, real.number, field.name);
		// The enum status is read as its number: same varint on the wire.
		const kind = real.fieldKind === "enum" ? "scalar" : real.fieldKind;
		assert.equal(field.fieldKind, kind, field.name);
	}
	for (const field of responseView.fields) {
		const real = TriggerRunsResponseSchema.fields.find((f) => f.name === field.name);
		assert.equal(field.number, real?.number, field.name);
	}
});

test("a full TriggerRunsResponse reads through the view with the fields the batch uses", () => {
	const full = create(TriggerRunsResponseSchema, {
		runs: [0, 1, 2].map((i) =>
			create(RunSchema, {
				id: `run_${i}`,
				environmentId: "env",
				taskId: "child",
				status: i === 2 ? RunStatus.FAILED : RunStatus.QUEUED,
				payload: new TextEncoder().encode(`{"i":${i}}`),
				cached: i === 2,
				batchId: "batch_1",
				batchIndex: 1000 + i,
				options: { tags: ["a", "b"], queue: "q" },
				createdAt: timestampFromMs(1_700_000_000_000 + i),
			}),
		),
		failures: [{ index: 3, code: 3, message: "payload: over the limit of 1 MiB" }],
	});
	const view = fromBinary(responseView, toBinary(TriggerRunsResponseSchema, full), {
		readUnknownFields: false,
	}) as unknown as TriggerRunsView;
	assert.deepEqual(
		view.runs.map((r) => [r.id, r.status, r.cached, r.batchId, r.batchIndex]),
		[
			["run_0", RunStatus.QUEUED, false, "batch_1", 1000],
			["run_1", RunStatus.QUEUED, false, "batch_1", 1001],
			["run_2", RunStatus.FAILED, true, "batch_1", 1002],
		],
	);
	assert.deepEqual(
		view.failures.map((f) => [f.index, f.code, f.message]),
		[[3, 3, "payload: over the limit of 1 MiB"]],
	);
});
