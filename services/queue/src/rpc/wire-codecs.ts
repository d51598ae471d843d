import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
	ConsumeResponseSchema,
	EnqueueResponse,
	EnqueueStreamResponse,
	QueueService,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { MethodCodecs } from "../../../kit/src/index.js";
import { decodeConsumeRequest } from "./consume-request-decoding.js";
import { decodeEnqueueRequest, decodeEnqueueStreamRequest } from "./request-decoding.js";
import {
	writeConsumeResponse,
	writeEnqueueResponse,
	writeEnqueueStreamResponse,
} from "./response-writing.js";

/**
 * The queue's hand-written codecs, by method: the messages of the enqueue and
 * delivery paths, which go through the service hundreds to tens of thousands of
 * times a second. Every other message is read and written by protobuf-es.
 */
export const queueWireCodecs: Partial<Record<keyof (typeof QueueService)["method"], MethodCodecs>> = {
	enqueue: {
		decodeRequest: decodeEnqueueRequest,
		encodeResponse: (response) => writeEnqueueResponse(response as EnqueueResponse),
	},
	enqueueStream: {
		decodeRequest: decodeEnqueueStreamRequest,
		encodeResponse: (response) => writeEnqueueStreamResponse(response as EnqueueStreamResponse),
	},
	consume: {
		decodeRequest: decodeConsumeRequest,
		encodeResponse: (response) =>
			writeConsumeResponse(response as MessageInitShape<typeof ConsumeResponseSchema>),
	},
};
