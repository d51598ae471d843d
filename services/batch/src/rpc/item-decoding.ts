import { fromBinary } from "@bufbuild/protobuf";
import {
	BatchItemChunkSchema,
	type BatchItemInput,
	BatchItemInputSchema,
	type IndexedBatchItem,
	IndexedBatchItemSchema,
	type StreamBatchItemsRequest,
	StreamBatchItemsRequestSchema,
} from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { TriggerOptionsSchema } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	enter,
	LENGTH_DELIMITED,
	leave,
	NOT_HANDLED,
	ProtoReader,
	tagOf,
	text,
	VARINT,
} from "../../../../packages/protobuf-wire/src/index.js";

/**
 * StreamBatchItems' item chunks decoded by hand. A 100,000-item stream is read
 * item by item, and protobuf-es's reflection-based fromBinary (a reflection
 * wrapper, field lookups and zero messages for every item and its submessages)
 * was the largest single cost of the batch service and most of its garbage. The
 * objects are those protobuf-es builds (item-decoding.test.ts compares them): an
 * item's options, when present, are still read by protobuf-es (they have many
 * fields and most items have none). The header, and anything outside the shape
 * clients send (an unknown field, a submessage given twice, text that is not
 * UTF-8, truncated bytes), is left to protobuf-es whole, so its answer, or its
 * error, is the one given.
 */
export function decodeStreamBatchItemsRequest(bytes: Uint8Array): StreamBatchItemsRequest {
	const items = chunkItemsOf(bytes);
	if (items === undefined) return fromBinary(StreamBatchItemsRequestSchema, bytes);
	return {
		$typeName: "taskmesh.batch.v1.StreamBatchItemsRequest",
		kind: { case: "chunk", value: { $typeName: "taskmesh.batch.v1.BatchItemChunk", items } },
	};
}

const CHUNK = tagOf(StreamBatchItemsRequestSchema.field.chunk, LENGTH_DELIMITED);
const ITEMS = tagOf(BatchItemChunkSchema.field.items, LENGTH_DELIMITED);
const INDEX = tagOf(IndexedBatchItemSchema.field.index, VARINT);
const ITEM = tagOf(IndexedBatchItemSchema.field.item, LENGTH_DELIMITED);
const TASK_ID = tagOf(BatchItemInputSchema.field.taskId, LENGTH_DELIMITED);
const PAYLOAD = tagOf(BatchItemInputSchema.field.payload, LENGTH_DELIMITED);
const PAYLOAD_TYPE = tagOf(BatchItemInputSchema.field.payloadType, LENGTH_DELIMITED);
const OPTIONS = tagOf(BatchItemInputSchema.field.options, LENGTH_DELIMITED);

/** The items of a request that is one chunk; undefined for protobuf-es to read. */
export function chunkItemsOf(bytes: Uint8Array): IndexedBatchItem[] | undefined {
	try {
		const r = new ProtoReader(bytes);
		// A chunk given twice merges into one: protobuf-es's job.
		if (!r.more() || r.uint32() !== CHUNK) throw NOT_HANDLED;
		const outer = enter(r);
		const items: IndexedBatchItem[] = [];
		while (r.more()) {
			if (r.uint32() !== ITEMS) throw NOT_HANDLED;
			items.push(indexedItem(r));
		}
		leave(r, outer);
		if (r.more()) throw NOT_HANDLED;
		return items;
	} catch {
		return undefined;
	}
}

function indexedItem(r: ProtoReader): IndexedBatchItem {
	const outer = enter(r);
	const indexed: IndexedBatchItem = { $typeName: "taskmesh.batch.v1.IndexedBatchItem", index: 0 };
	while (r.more()) {
		switch (r.uint32()) {
			case INDEX:
				indexed.index = r.uint32();
				break;
			case ITEM:
				if (indexed.item !== undefined) throw NOT_HANDLED;
				indexed.item = itemInput(r);
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	leave(r, outer);
	return indexed;
}

function itemInput(r: ProtoReader): BatchItemInput {
	const outer = enter(r);
	const item: BatchItemInput = {
		$typeName: "taskmesh.batch.v1.BatchItemInput",
		taskId: "",
		payload: EMPTY,
		payloadType: "",
	};
	let payload: Uint8Array | undefined;
	while (r.more()) {
		switch (r.uint32()) {
			case TASK_ID:
				item.taskId = text(r);
				break;
			case PAYLOAD:
				payload = r.bytes();
				break;
			case PAYLOAD_TYPE:
				item.payloadType = text(r);
				break;
			case OPTIONS:
				if (item.options !== undefined) throw NOT_HANDLED;
				item.options = fromBinary(TriggerOptionsSchema, r.bytes());
				break;
			default:
				throw NOT_HANDLED;
		}
	}
	// protobuf-es gives each item without a payload its own empty array.
	item.payload = payload ?? new Uint8Array(0);
	leave(r, outer);
	return item;
}

/** Stands in for the payload until the item's fields are read. */
const EMPTY = new Uint8Array(0);
