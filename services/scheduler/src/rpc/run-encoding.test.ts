import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
	GetRunsResponseSchema,
	RunSchema,
	StartAttemptResponseSchema,
	TriggerRunResponseSchema,
	TriggerRunsResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { DEFAULT_RETRY } from "../core/retry-delay.js";
import type { RunRecord } from "../core/run-types.js";
import { attemptToProto, runOutcomeToProto, runSummaryToProto, runToProto } from "./proto-convert.js";
import { encodeRun, withRun, withRunOutcomes, withRunSummaries } from "./run-encoding.js";

/** A queued run as TriggerRun answers it; variations below change one part each. */
function queuedRun(): RunRecord {
	const created = new Date("2026-11-26T20:41:07.123Z");
	return {
		id: "run_0mfx8k2a1b2c3d4e5f6a7b8c9",
		environmentId: "env_1",
		taskId: "noop",
		status: "QUEUED",
		payload: Buffer.from(JSON.stringify({ t: 1764189667123 })),
		payloadType: "application/json",
		output: null,
		outputType: "",
		error: null,
		options: {
			queue: "task/noop",
			concurrencyKey: "",
			idempotencyKey: "",
			idempotencyKeyTtlMs: 0,
			delayMs: 0,
			ttlMs: 0,
			tags: [],
			retry: { ...DEFAULT_RETRY },
			priority: 0,
			maxDurationMs: 0,
			metadata: null,
			machine: "micro",
			deploymentVersion: "",
		},
		machine: { name: "micro", cpu: 0.25, memoryGb: 0.25 },
		attemptCount: 0,
		cached: false,
		parentRunId: "",
		rootRunId: "run_0mfx8k2a1b2c3d4e5f6a7b8c9",
		batchId: "",
		batchIndex: 0,
		replayOfRunId: "",
		deploymentVersion: "",
		scheduleId: "",
		createdAt: created,
		updatedAt: created,
		delayUntil: null,
		expiresAt: null,
		startedAt: null,
		completedAt: null,
	};
}

const error = { name: "Error", message: "boom ✗", stackTrace: "at x", code: "E_X", retryable: true };

const variations: [string, (r: RunRecord) => RunRecord][] = [
	["queued", (r) => r],
	[
		"executing, then completed with output",
		(r) => ({
			...r,
			status: "COMPLETED",
			attemptCount: 1,
			output: Buffer.from("1"),
			outputType: "application/json",
			startedAt: new Date(1764189667200),
			completedAt: new Date(1764189667999),
		}),
	],
	["failed with an error", (r) => ({ ...r, status: "FAILED", error, attemptCount: 3 })],
	[
		"large payload, output and error (lengths of two and three bytes, the buffer grown)",
		(r) => ({
			...r,
			payload: Buffer.alloc(70_000, 7),
			output: Buffer.alloc(300, 1),
			error: { ...error, stackTrace: "at f (file.ts:1:2)\n".repeat(400) },
			options: { ...r.options, tags: Array.from({ length: 10 }, (_, i) => `tag-${i}-`.repeat(12)) },
		}),
	],
	[
		"every option set, negative priority, unicode, metadata",
		(r) => ({
			...r,
			cached: true,
			options: {
				...r.options,
				concurrencyKey: "ck-ü",
				idempotencyKey: "key/日本",
				idempotencyKeyTtlMs: 86_400_123,
				delayMs: 1_500,
				ttlMs: 60_000,
				tags: ["a", "b", "ü".repeat(128)],
				retry: { maxAttempts: 5, factor: 2.5, minTimeoutMs: 0, maxTimeoutMs: 30_000, randomize: true },
				priority: -7,
				maxDurationMs: 3_600_000,
				metadata: { a: 1, b: [true, null, "x"], c: { d: -0.5 } },
				machine: "large-2x",
				deploymentVersion: "v3",
			},
			machine: { name: "large-2x", cpu: 8, memoryGb: 16 },
			delayUntil: new Date(1764189668623),
			expiresAt: new Date(1764189727123),
		}),
	],
	[
		"child of a batch, replayed, scheduled",
		(r) => ({
			...r,
			parentRunId: "run_parent",
			rootRunId: "run_root",
			batchId: "batch_1",
			batchIndex: 999,
			replayOfRunId: "run_old",
			scheduleId: "sched_1",
			payload: Buffer.alloc(0),
			payloadType: "",
		}),
	],
	[
		"before 1970 and with an empty preset",
		(r) => ({ ...r, createdAt: new Date(-1_234), options: { ...r.options, machine: "" } }),
	],
	[
		"with attempts (GetRun)",
		(r) => ({
			...r,
			attempts: [
				{
					id: "attempt_1",
					number: 1,
					status: "FAILED",
					workerId: "w",
					startedAt: new Date(1764189667200),
					completedAt: new Date(1764189667300),
					error,
				},
				{
					id: "attempt_2",
					number: 2,
					status: "EXECUTING",
					workerId: "w",
					startedAt: new Date(1764189667400),
					completedAt: null,
					error: null,
				},
			],
		}),
	],
];

describe("the hand-written Run encoding", () => {
	for (const [name, vary] of variations) {
		test(`writes the bytes protobuf-es writes: ${name}`, () => {
			const run = vary(queuedRun());
			const expected = toBinary(RunSchema, create(RunSchema, runToProto(run)));
			assert.deepEqual(Buffer.from(encodeRun(run)), Buffer.from(expected));
		});
	}

	test("a response carrying the run decodes to the response built from init shapes", () => {
		const run = variations[3]?.[1](queuedRun()) as RunRecord;
		const attempt = {
			id: "attempt_1",
			number: 1,
			status: "EXECUTING" as const,
			workerId: "w",
			startedAt: new Date(1764189667200),
			completedAt: null,
			error: null,
		};
		const fields = { attempt: attemptToProto(attempt), resumed: true };
		const sent = toBinary(
			StartAttemptResponseSchema,
			withRun(create(StartAttemptResponseSchema, fields), run),
		);
		const received = fromBinary(StartAttemptResponseSchema, sent);
		const expected = create(StartAttemptResponseSchema, { ...fields, run: runToProto(run) });
		assert.ok(equals(StartAttemptResponseSchema, received, expected));
		assert.deepEqual(received.$unknown, undefined);
		// A response with the run alone is byte for byte what protobuf-es writes.
		assert.deepEqual(
			Buffer.from(toBinary(TriggerRunResponseSchema, withRun(create(TriggerRunResponseSchema), run))),
			Buffer.from(
				toBinary(TriggerRunResponseSchema, create(TriggerRunResponseSchema, { run: runToProto(run) })),
			),
		);
	});

	test("runs summed up (TriggerRuns summary_only) and as outcomes (GetRuns outcome_only) decode as built from init shapes", () => {
		const runs = variations.map(([, vary]) => vary(queuedRun()));
		const failures = [{ index: 2, code: 3, message: "runs[2].task_id: unknown" }];
		const summaries = toBinary(
			TriggerRunsResponseSchema,
			withRunSummaries(create(TriggerRunsResponseSchema, { failures }), runs),
		);
		assert.ok(
			equals(
				TriggerRunsResponseSchema,
				fromBinary(TriggerRunsResponseSchema, summaries),
				create(TriggerRunsResponseSchema, { runs: runs.map(runSummaryToProto), failures }),
			),
		);
		// GetRunsResponse has no other field: the bytes are protobuf-es's own.
		const outcomes = toBinary(GetRunsResponseSchema, withRunOutcomes(create(GetRunsResponseSchema), runs));
		assert.deepEqual(
			Buffer.from(outcomes),
			Buffer.from(
				toBinary(GetRunsResponseSchema, create(GetRunsResponseSchema, { runs: runs.map(runOutcomeToProto) })),
			),
		);
	});
});
