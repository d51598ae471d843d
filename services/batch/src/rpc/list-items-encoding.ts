import { create } from "@bufbuild/protobuf";
import {
	type ListBatchItemsResponse,
	ListBatchItemsResponseSchema,
} from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import {
	boolField,
	bytesField,
	int32Field,
	type ProtoWriter,
	repeatedMessageField,
	stringField,
	taskErrorField,
	VARINT,
} from "../../../../packages/protobuf-wire/src/index.js";
import type { ItemWithChild } from "../core/batch-core.js";
import { runStatusOf } from "./scheduler-children.js";

/**
 * A ListBatchItems page, its `items` written field by field into $unknown
 * (repeatedMessageField): the wire holds exactly the repeated field the contract
 * defines (list-items-encoding.test.ts reads it back with protobuf-es). Built with
 * create() and encoded by reflection, a page of a thousand items cost the batch
 * service about 8 µs per item, a third of its work in reading a batch back.
 */
export function listItemsResponseOf(
	items: readonly ItemWithChild[],
	nextPageToken: string,
): ListBatchItemsResponse {
	const response = create(ListBatchItemsResponseSchema, { nextPageToken });
	let sizeHint = 0;
	for (const { item, child } of items)
		sizeHint += 32 + item.runId.length + item.taskId.length + sizeOf(child);
	const field = repeatedMessageField(1, items, sizeHint, writeItem);
	if (field !== undefined) response.$unknown = [field];
	return response;
}

/** Roughly what a child's output and error take on the wire (the writer grows past it). */
function sizeOf(child: ItemWithChild["child"]): number {
	const e = child.error;
	return (
		child.output.byteLength +
		(e === undefined ? 0 : 16 + e.name.length + e.message.length + e.stackTrace.length)
	);
}

/** taskmesh.batch.v1.BatchItem. */
function writeItem(w: ProtoWriter, { item, child }: ItemWithChild): void {
	if (item.index !== 0) w.tag(1, VARINT).uint(item.index);
	stringField(w, 2, item.runId);
	stringField(w, 3, item.taskId);
	int32Field(w, 4, runStatusOf(child.status));
	boolField(w, 5, item.cached);
	bytesField(w, 6, child.output);
	const error = child.error;
	if (error !== undefined) taskErrorField(w, 7, error);
}
