import { create, createFileRegistry, type DescMessage, type DescService } from "@bufbuild/protobuf";
import type { GenMessage, GenService } from "@bufbuild/protobuf/codegenv2";
import {
	FieldDescriptorProto_Label,
	FieldDescriptorProto_Type,
	FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import {
	type IngestResponseSchema,
	LogIngestService,
	type QueryRequestSchema,
	type QueryResponseSchema,
	type ReadMessageBodyRequestSchema,
	type ReadMessageBodyResponseSchema,
	type TailRequestSchema,
	type TailResponseSchema,
} from "../../../../gen/taskmesh/logs/v1/logs_pb.js";

/** An IngestRequest as the service reads it: each chunk still in its wire bytes. */
export interface IngestFrameView {
	$typeName: "taskmesh.logs.internal.IngestFrameView";
	/** IngestRequest.chunks (field 1), one LogChunk's bytes each, views of the received frame. */
	chunks: Uint8Array[];
}

/**
 * A reading of taskmesh.logs.v1.IngestRequest whose repeated LogChunk field (1) is
 * read as repeated bytes: the same wire format, but protobuf-es only cuts the frame
 * into one view per chunk, and log-chunk-reader.ts decodes each chunk by hand.
 */
const VIEW_FILE = create(FileDescriptorProtoSchema, {
	name: "taskmesh/logs/internal/ingest_frame_view.proto",
	package: "taskmesh.logs.internal",
	syntax: "proto3",
	messageType: [
		{
			name: "IngestFrameView",
			field: [
				{
					name: "chunks",
					jsonName: "chunks",
					number: 1,
					type: FieldDescriptorProto_Type.BYTES,
					label: FieldDescriptorProto_Label.REPEATED,
				},
			],
		},
	],
});

const IngestFrameViewSchema = createFileRegistry(VIEW_FILE, () => undefined).getMessage(
	"taskmesh.logs.internal.IngestFrameView",
) as DescMessage as GenMessage<IngestFrameView>;

/** LogIngestService as this service serves it: Ingest's requests read through the view. */
export type ServedLogIngestService = GenService<{
	ingest: {
		methodKind: "client_streaming";
		input: typeof IngestFrameViewSchema;
		output: typeof IngestResponseSchema;
	};
	tail: {
		methodKind: "server_streaming";
		input: typeof TailRequestSchema;
		output: typeof TailResponseSchema;
	};
	query: { methodKind: "unary"; input: typeof QueryRequestSchema; output: typeof QueryResponseSchema };
	readMessageBody: {
		methodKind: "server_streaming";
		input: typeof ReadMessageBodyRequestSchema;
		output: typeof ReadMessageBodyResponseSchema;
	};
}>;

const ingest = { ...LogIngestService.method.ingest, input: IngestFrameViewSchema };

/**
 * The contract's LogIngestService with only Ingest's request decoding changed: same
 * name, paths, file (so reflection serves the contract as it is) and other methods.
 */
export const servedLogIngestService = {
	...LogIngestService,
	method: { ...LogIngestService.method, ingest },
	methods: LogIngestService.methods.map((m) => (m === LogIngestService.method.ingest ? ingest : m)),
} as DescService as unknown as ServedLogIngestService;
