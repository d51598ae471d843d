import type { DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Compression } from "@connectrpc/connect/protocol";

/*
 * connect-node answers a request it cannot decode with INTERNAL: a protobuf message
 * cut short ("parse binary: premature EOF") or a gzip body that is only a header
 * ("decompression failed"). Both are the caller's bytes, not a fault of ours, so the
 * gateway answers them INVALID_ARGUMENT, naming the message type, as each service
 * behind it does.
 */

/** A request message that could not be decoded, named by its type. */
export function malformedMessage(type: DescMessage, cause: unknown): ConnectError {
	const text =
		cause instanceof ConnectError ? cause.rawMessage : cause instanceof Error ? cause.message : String(cause);
	const reason = text.replace(/^parse binary: /, "");
	return new ConnectError(`request is not a valid ${type.typeName}: ${reason}`, Code.InvalidArgument);
}

/** Whether an error is connect-node's INTERNAL for a binary message it could not parse. */
export function isBinaryParseError(error: unknown): error is ConnectError {
	return (
		error instanceof ConnectError &&
		error.code === Code.Internal &&
		error.rawMessage.startsWith("parse binary:")
	);
}

/** The compression, with a body it cannot decompress answered INVALID_ARGUMENT instead of INTERNAL. */
export function decompressionAsBadInput(compression: Compression): Compression {
	return {
		name: compression.name,
		compress: (bytes) => compression.compress(bytes),
		decompress: async (bytes, readMaxBytes) => {
			try {
				return await compression.decompress(bytes, readMaxBytes);
			} catch (error) {
				if (error instanceof ConnectError && error.code === Code.Internal) {
					const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
					throw new ConnectError(
						`request body could not be decompressed as ${compression.name}${cause}`,
						Code.InvalidArgument,
					);
				}
				throw error;
			}
		},
	};
}

/** Re-reads a stream of request messages, turning a message that cannot be parsed into INVALID_ARGUMENT. */
async function* parsedOrBadInput<T>(messages: AsyncIterable<T>, type: DescMessage): AsyncIterable<T> {
	try {
		yield* messages;
	} catch (error) {
		throw isBinaryParseError(error) ? malformedMessage(type, error) : error;
	}
}

/**
 * Streams parse each request message as it is read, inside the call, so a message
 * that cannot be parsed is caught here. (Unary requests are parsed before any
 * interceptor runs: see unary-body-check.ts.)
 */
export const streamMessagesAsBadInput: Interceptor = (next) => async (request) => {
	if (!request.stream) return next(request);
	return next({ ...request, message: parsedOrBadInput(request.message, request.method.input) });
};
