import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
	TriggerOptionsSchema,
	TriggerRunsRequestSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { ItemBody } from "./item-body.js";
import { type ParentOfChildren, triggerRunsRequestOf } from "./trigger-runs-encoding.js";

/** What the hand-written request reads back as, through protobuf-es. */
function readBack(bodies: ItemBody[], parent: ParentOfChildren | undefined) {
	const request = triggerRunsRequestOf({
		environmentId: "env",
		batchId: "b1",
		firstIndex: 2000,
		bodies,
		parent,
	});
	return fromBinary(TriggerRunsRequestSchema, toBinary(TriggerRunsRequestSchema, request));
}

/** The request protobuf-es builds from the same items. */
function expected(bodies: ItemBody[], parent: ParentOfChildren | undefined) {
	return create(TriggerRunsRequestSchema, {
		environmentId: "env",
		batchId: "b1",
		firstIndex: 2000,
		summaryOnly: true,
		runs: bodies.map((b) => ({
			taskId: b.taskId,
			payload: b.payload,
			payloadType: b.payloadType,
			...(b.options === undefined ? {} : { options: b.options }),
			...(parent === undefined ? {} : { parent: { ...parent, wait: false } }),
		})),
	});
}

/** Bytes as protobuf-es reads them back: a Uint8Array, not a Buffer. */
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

const plain: ItemBody = {
	taskId: "child",
	payload: bytes('{"i":1}'),
	payloadType: "",
	options: undefined,
};
const withOptions: ItemBody = {
	taskId: "emails.send",
	payload: bytes("{}"),
	payloadType: "application/json",
	options: create(TriggerOptionsSchema, { idempotencyKey: "k-1", tags: ["a", "b"], priority: 3 }),
};
const emptyOptions: ItemBody = {
	taskId: "t",
	payload: new Uint8Array(0),
	payloadType: "",
	options: create(TriggerOptionsSchema),
};

describe("TriggerRuns requests written by hand", () => {
	test("read back by protobuf-es as the request it would build, with and without a parent", () => {
		for (const parent of [undefined, { runId: "run_parent", attemptId: "att_1" }]) {
			const bodies = [plain, withOptions, emptyOptions];
			assert.deepStrictEqual(readBack(bodies, parent), expected(bodies, parent));
		}
	});

	test("a thousand items keep their order; no items write no runs", () => {
		const bodies = Array.from({ length: 1_000 }, (_, i) => ({
			...plain,
			payload: bytes(`{"i":${i}}`),
		}));
		const back = readBack(bodies, undefined);
		assert.equal(back.runs.length, 1_000);
		assert.equal(Buffer.from(back.runs[999]?.payload ?? []).toString(), '{"i":999}');
		assert.deepStrictEqual(readBack([], undefined), expected([], undefined));
	});
});
