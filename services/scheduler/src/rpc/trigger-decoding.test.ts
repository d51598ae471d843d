import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
	type TriggerRunRequestSchema,
	TriggerRunsRequestSchema,
	TriggerStreamRequestSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { ProtoWriter } from "../../../../packages/protobuf-wire/src/index.js";
import { decodeTriggerRunsRequest, decodeTriggerStreamRequest, triggerRunsOf } from "./trigger-decoding.js";

type Run = MessageInitShape<typeof TriggerRunRequestSchema>;

/** What protobuf-es reads, or the error it throws, for the same bytes. */
function protobufEs<T>(read: () => T): { value?: T; error?: Error } {
	try {
		return { value: read() };
	} catch (error) {
		return { error: error as Error };
	}
}

function assertSame(bytes: Uint8Array): void {
	const runs = protobufEs(() => fromBinary(TriggerRunsRequestSchema, bytes));
	if (runs.error !== undefined)
		assert.throws(() => decodeTriggerRunsRequest(bytes), { message: runs.error.message });
	else assert.deepStrictEqual(decodeTriggerRunsRequest(bytes), runs.value);
	const stream = protobufEs(() => fromBinary(TriggerStreamRequestSchema, bytes));
	if (stream.error !== undefined)
		assert.throws(() => decodeTriggerStreamRequest(bytes), { message: stream.error.message });
	else assert.deepStrictEqual(decodeTriggerStreamRequest(bytes), stream.value);
}

const full: Run = {
	environmentId: "env",
	taskId: "emails.send",
	payload: Buffer.from('{"to":"a@example.com"}'),
	payloadType: "application/json",
	options: {
		idempotencyKey: "k",
		tags: ["a"],
		delay: { seconds: 5n },
		machine: { kind: { case: "preset", value: "small-1x" } },
	},
	parent: { runId: "run_p", attemptId: "att_p", wait: true },
};

const runsRequest = (runs: Run[]) =>
	Buffer.from(
		toBinary(
			TriggerRunsRequestSchema,
			create(TriggerRunsRequestSchema, {
				environmentId: "env",
				runs,
				batchId: "batch_1",
				firstIndex: 4_000_000_000,
				summaryOnly: true,
			}),
		),
	);

describe("hand-decoded TriggerRuns and TriggerStream requests", () => {
	test("every field set, runs with nothing set, and an empty request read as protobuf-es reads them", () => {
		assertSame(runsRequest([full, {}, { taskId: "t", parent: {} }]));
		assert.notEqual(triggerRunsOf(runsRequest([full, {}])), undefined, "read by hand");
		assertSame(runsRequest([]));
		assertSame(new Uint8Array(0));
		assertSame(toBinary(TriggerStreamRequestSchema, create(TriggerStreamRequestSchema, { run: full })));
	});

	test("a thousand runs keep their order and payloads", () => {
		const runs = Array.from({ length: 1_000 }, (_, i) => ({
			taskId: "child",
			payload: Buffer.from(`{"i":${i}}`),
		}));
		const decoded = decodeTriggerRunsRequest(runsRequest(runs));
		assert.equal(decoded.runs.length, 1_000);
		assert.equal(Buffer.from(decoded.runs[999]?.payload ?? []).toString(), '{"i":999}');
	});

	test("unknown fields, repeated submessages, bad UTF-8 and truncated bytes get protobuf-es's answer", () => {
		const bytes = runsRequest([full]);
		const unknown = Buffer.concat([bytes, new ProtoWriter(8).tag(99, 0).uint(1).finish()]);
		assert.equal(triggerRunsOf(unknown), undefined, "left to protobuf-es");
		assertSame(unknown);
		const stream = toBinary(TriggerStreamRequestSchema, create(TriggerStreamRequestSchema, { run: full }));
		assertSame(Buffer.concat([stream, stream]));
		const bad = new ProtoWriter(16).tag(1, 2).bytes(Uint8Array.of(0xff)).finish();
		assertSame(bad);
		assertSame(bytes.subarray(0, bytes.length - 2));
		// A bool written as a long varint is still true.
		assertSame(
			new ProtoWriter(16)
				.tag(5, 0)
				.raw(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x10))
				.finish(),
		);
	});
});
