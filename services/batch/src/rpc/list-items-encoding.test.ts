import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ListBatchItemsResponseSchema } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { RunStatus } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import type { ItemWithChild } from "../core/batch-core.js";
import { listItemsResponseOf } from "./list-items-encoding.js";

/** Bytes as protobuf-es reads them back: a Uint8Array, not a Buffer. */
const bytes = (text: string) => new Uint8Array(Buffer.from(text));

function item(index: number, child: Partial<ItemWithChild["child"]>, cached = false): ItemWithChild {
	return {
		item: {
			batchId: "b1",
			index,
			runId: `run_${index}`,
			taskId: "emails.send",
			status: "QUEUED",
			final: false,
			cached,
		},
		child: {
			runId: `run_${index}`,
			status: "QUEUED",
			output: new Uint8Array(0),
			outputType: "",
			error: undefined,
			final: false,
			...child,
		},
	};
}

const page: ItemWithChild[] = [
	item(0, {}),
	item(1, { status: "COMPLETED", output: bytes('{"sent":true}'), final: true }, true),
	item(2, {
		status: "FAILED",
		final: true,
		error: {
			name: "TypeError",
			message: "é is not a function ✓",
			code: "",
			stackTrace: "at x (y.ts:1)",
			retryable: true,
		},
	}),
	item(300_000, {
		status: "CANCELED",
		final: true,
		error: { name: "", message: "", code: "", stackTrace: "", retryable: false },
	}),
];

describe("ListBatchItems written by hand", () => {
	test("reads back through protobuf-es as the response create() would build from the same items", () => {
		for (const token of ["", "1000"]) {
			const wire = toBinary(ListBatchItemsResponseSchema, listItemsResponseOf(page, token));
			const expected = create(ListBatchItemsResponseSchema, {
				nextPageToken: token,
				items: page.map(({ item: i, child: c }) => ({
					index: i.index,
					runId: i.runId,
					taskId: i.taskId,
					status: RunStatus[c.status as keyof typeof RunStatus],
					cached: i.cached,
					output: c.output,
					...(c.error === undefined ? {} : { error: c.error }),
				})),
			});
			assert.deepEqual(fromBinary(ListBatchItemsResponseSchema, wire), expected);
			assert.equal(wire.byteLength, toBinary(ListBatchItemsResponseSchema, expected).byteLength);
		}
	});

	test("an empty page has no items field", () => {
		const response = listItemsResponseOf([], "");
		assert.equal(toBinary(ListBatchItemsResponseSchema, response).byteLength, 0);
		assert.deepEqual(
			fromBinary(ListBatchItemsResponseSchema, toBinary(ListBatchItemsResponseSchema, response)).items,
			[],
		);
	});
});
