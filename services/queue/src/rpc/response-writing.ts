import {
	create,
	type DescMessage,
	type MessageInitShape,
	type MessageShape,
	toBinary,
	type UnknownField,
} from "@bufbuild/protobuf";
import {
	ConsumeResponseSchema,
	type EnqueueResponse,
	EnqueueResponseSchema,
	type EnqueueStreamResponse,
	EnqueueStreamResponseSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { LENGTH_DELIMITED, ProtoWriter, VARINT } from "../../../../packages/protobuf-wire/src/index.js";

/**
 * Writes the hot responses to bytes without protobuf-es. Their contents are
 * already encoded by response-encoding.ts and carried as unknown fields, but
 * protobuf-es's toBinary still walked each response by reflection (a wrapper, a
 * writer and its chunks per response) before copying those bytes out. Here the
 * bytes are what toBinary writes for the same response (known fields first, in
 * field order, then the unknown fields as they are); a response of any other
 * shape (an error, an opened or acknowledged answer) goes through protobuf-es as
 * every other response does.
 */
export function writeEnqueueResponse(response: EnqueueResponse): Uint8Array {
	if (response.results.length > 0) return viaProtobufEs(EnqueueResponseSchema, response);
	return unknownFieldsAfter(undefined, response.$unknown);
}

/** An EnqueueStream answer: its sequence, then its results (see writeEnqueueResponse). */
export function writeEnqueueStreamResponse(response: EnqueueStreamResponse): Uint8Array {
	const { sequence } = response;
	if (response.error !== undefined || response.results.length > 0 || sequence > MAX_SAFE) {
		return viaProtobufEs(EnqueueStreamResponseSchema, response);
	}
	return unknownFieldsAfter(sequence === 0n ? undefined : Number(sequence), response.$unknown);
}

/**
 * A Consume response: a delivery batch, and the answer to an acknowledgement
 * batch with no failures, by hand; any other kind through protobuf-es.
 */
export function writeConsumeResponse(response: ConsumeAnswer): Uint8Array {
	const kind = response.kind;
	if (kind === undefined || kind.case === undefined) return unknownFieldsAfter(undefined, response.$unknown);
	if (kind.case === "acknowledged" && !hasUnknown(response)) {
		const { acknowledged, failures } = kind.value;
		if ((failures === undefined || failures.length === 0) && !hasUnknown(kind.value)) {
			const w = new ProtoWriter(16);
			w.tag(CONSUME_RESPONSE_ACKNOWLEDGED, LENGTH_DELIMITED).begin();
			if (acknowledged !== undefined && acknowledged !== 0) w.tag(1, VARINT).uint(acknowledged);
			w.end();
			return w.finish();
		}
	}
	return viaProtobufEs(ConsumeResponseSchema, create(ConsumeResponseSchema, response));
}

/** A Consume response as the stream makes it: an init shape, or a message with unknown fields. */
type ConsumeAnswer = MessageInitShape<typeof ConsumeResponseSchema> & { $unknown?: UnknownField[] };

function hasUnknown(message: object): boolean {
	const unknown = (message as { $unknown?: UnknownField[] }).$unknown;
	return unknown !== undefined && unknown.length > 0;
}

/** ConsumeResponse.acknowledged. */
const CONSUME_RESPONSE_ACKNOWLEDGED = 3;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Field 1 as a varint when given, then the unknown fields, each its tag and its data as stored. */
function unknownFieldsAfter(field1: number | undefined, unknown: UnknownField[] | undefined): Uint8Array {
	let size = 12;
	if (unknown !== undefined) for (const f of unknown) size += 6 + f.data.byteLength;
	const w = new ProtoWriter(size);
	if (field1 !== undefined) w.tag(1, VARINT).uint(field1);
	if (unknown !== undefined) {
		for (const f of unknown) w.tag(f.no, f.wireType as 0 | 1 | 2).raw(f.data);
	}
	return w.finish();
}

/** What the kit's serializer does with any response. */
function viaProtobufEs<D extends DescMessage>(schema: D, response: MessageShape<D>): Uint8Array {
	return toBinary(schema, create(schema, response));
}
