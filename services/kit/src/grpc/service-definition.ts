import {
	create,
	type DescMessage,
	type DescService,
	fromBinary,
	type MessageShape,
	toBinary,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { MethodCodecs } from "./implementation.js";
import { tolerantDeserializer } from "./malformed-request.js";

/**
 * Builds the grpc-js service definition of a protobuf-es service descriptor:
 * the path and streaming kind of every method, with protobuf-es binary encoding
 * as the serializers, so no service writes a serializer by hand (except the
 * hand-written `codecs` a server passes for its hottest methods).
 */
export function grpcServiceDefinition(
	service: DescService,
	codecs: Partial<Record<string, MethodCodecs>> = {},
): ServiceDefinition {
	const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
	for (const method of service.methods) {
		const { decodeRequest, encodeResponse } = codecs[method.localName] ?? {};
		definition[method.localName] = {
			path: `/${service.typeName}/${method.name}`,
			requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
			responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
			requestSerialize: serializer(method.input),
			requestDeserialize: tolerantDeserializer(
				method.input.typeName,
				decodeRequest ?? deserializer(method.input),
			),
			responseSerialize: encodeResponse === undefined ? serializer(method.output) : asBuffer(encodeResponse),
			responseDeserialize: deserializer(method.output),
			originalName: method.name,
		};
	}
	return definition;
}

function serializer(schema: DescMessage): (value: unknown) => Buffer {
	return (value) => {
		// Handlers return init shapes; create() fills defaults and is a no-op copy
		// for a message that is already complete.
		const message = create(schema, value as MessageShape<DescMessage>);
		const bytes = toBinary(schema, message);
		return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	};
}

function asBuffer(encode: (value: unknown) => Uint8Array): (value: unknown) => Buffer {
	return (value) => {
		const bytes = encode(value);
		return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	};
}

function deserializer(schema: DescMessage): (bytes: Buffer) => unknown {
	return (bytes) => fromBinary(schema, bytes);
}
