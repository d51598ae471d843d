import { create, createFileRegistry, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import {
	FieldDescriptorProto_Label,
	FieldDescriptorProto_Type,
	FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import type { Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { file_taskmesh_common_v1_common } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import {
	SchedulerService,
	type TriggerRunsRequestSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { tracePropagation } from "../../../kit/src/index.js";

/** What the batch service reads of each run TriggerRuns returns. */
export interface CreatedRunView {
	id: string;
	/** The RunStatus number. */
	status: number;
	cached: boolean;
	batchId: string;
	batchIndex: number;
}

/** What the batch service reads of a TriggerRunsResponse. */
export interface TriggerRunsView {
	runs: CreatedRunView[];
	failures: { index: number; code: number; message: string }[];
}

const {
	STRING: TYPE_STRING,
	INT32: TYPE_INT32,
	BOOL: TYPE_BOOL,
	UINT32: TYPE_UINT32,
	MESSAGE: TYPE_MESSAGE,
} = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

/**
 * A reading of taskmesh.scheduler.v1.TriggerRunsResponse with only the Run fields
 * the batch service uses (same field numbers and wire types as the contract; the
 * enum status read as its number). Decoding 1,000 full Runs per chunk (options,
 * retry, machine, six timestamps each) was the largest cost of the batch service;
 * the other fields are skipped on the wire instead of built into messages.
 */
const VIEW_FILE = create(FileDescriptorProtoSchema, {
	name: "taskmesh/batch/internal/trigger_runs_view.proto",
	package: "taskmesh.batch.internal",
	dependency: ["taskmesh/common/v1/common.proto"],
	syntax: "proto3",
	messageType: [
		{
			name: "RunView",
			field: [
				{ name: "id", jsonName: "id", number: 1, type: TYPE_STRING, label: OPTIONAL },
				{ name: "status", jsonName: "status", number: 4, type: TYPE_INT32, label: OPTIONAL },
				{ name: "cached", jsonName: "cached", number: 14, type: TYPE_BOOL, label: OPTIONAL },
				{ name: "batch_id", jsonName: "batchId", number: 17, type: TYPE_STRING, label: OPTIONAL },
				{ name: "batch_index", jsonName: "batchIndex", number: 27, type: TYPE_UINT32, label: OPTIONAL },
			],
		},
		{
			name: "TriggerRunsResponseView",
			field: [
				{
					name: "runs",
					jsonName: "runs",
					number: 1,
					type: TYPE_MESSAGE,
					typeName: ".taskmesh.batch.internal.RunView",
					label: REPEATED,
				},
				{
					name: "failures",
					jsonName: "failures",
					number: 2,
					type: TYPE_MESSAGE,
					typeName: ".taskmesh.common.v1.ItemFailure",
					label: REPEATED,
				},
			],
		},
	],
});

const registry = createFileRegistry(VIEW_FILE, (name) =>
	name === file_taskmesh_common_v1_common.proto.name ? file_taskmesh_common_v1_common : undefined,
);
/** The view of a TriggerRunsResponse (exported for the test that pins it to the contract). */
export const responseView = registry.getMessage(
	"taskmesh.batch.internal.TriggerRunsResponseView",
) as DescMessage;

/** SchedulerService.TriggerRuns with the response read through the view. */
const TRIGGER_RUNS = { ...SchedulerService.method.triggerRuns, output: responseView };

/** Calls TriggerRuns and reads the response through the view. */
export type TriggerRunsCall = (
	request: MessageInitShape<typeof TriggerRunsRequestSchema>,
) => Promise<TriggerRunsView>;

/**
 * A TriggerRuns caller over its own gRPC transport (trace context propagated like
 * the kit's clients), which drops the fields the view does not name instead of
 * keeping them as unknown fields.
 */
export function triggerRunsCall(baseUrl: string): TriggerRunsCall {
	const transport: Transport = createGrpcTransport({
		baseUrl,
		interceptors: [tracePropagation],
		binaryOptions: { readUnknownFields: false },
	});
	return async (request) => {
		const response = await transport.unary(TRIGGER_RUNS, undefined, undefined, undefined, request);
		return response.message as unknown as TriggerRunsView;
	};
}
