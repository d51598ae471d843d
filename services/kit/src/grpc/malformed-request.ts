import { ServiceError } from "../errors/service-error.js";

/**
 * What the server's deserializer hands on in place of a request whose bytes are no
 * message of its type (a string that is not UTF-8, a truncated field). grpc-js answers
 * a deserializer that throws with INTERNAL, as if the server had failed; handed on like
 * this, the handler refuses the request as the caller's error.
 */
export class MalformedRequest {
	constructor(
		readonly typeName: string,
		readonly reason: string,
	) {}

	error(): ServiceError {
		return ServiceError.invalidField("request", `the bytes are not a valid ${this.typeName}: ${this.reason}`);
	}
}

/** A request deserializer that hands on a MalformedRequest instead of throwing. */
export function tolerantDeserializer(typeName: string, decode: (bytes: Buffer) => unknown) {
	return (bytes: Buffer): unknown => {
		try {
			return decode(bytes);
		} catch (error) {
			return new MalformedRequest(typeName, error instanceof Error ? error.message : String(error));
		}
	};
}

/** The request, or the caller's error when its bytes could not be read. */
export function wellFormed(request: unknown): unknown {
	if (request instanceof MalformedRequest) throw request.error();
	return request;
}
