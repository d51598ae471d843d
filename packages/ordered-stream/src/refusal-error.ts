import { Code, ConnectError } from "@connectrpc/connect";
import type { Status } from "../../../gen/google/rpc/status_pb.js";

/**
 * The ConnectError a unary call fails with, from the google.rpc.Status an
 * answered stream refused the same request with in-band: same code, message and
 * details (as incoming details, the way the transport reads them from the
 * trailers), so every `catch` that reads codes or field violations behaves the
 * same either way.
 */
export function connectErrorOfStatus(status: Status): ConnectError {
	const code = status.code in Code && status.code !== 0 ? (status.code as Code) : Code.Unknown;
	const error = new ConnectError(status.message, code);
	for (const any of status.details) {
		error.details.push({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1), value: any.value });
	}
	return error;
}

/** The error for an answer that carried neither a result nor a status: a server out of step with this SDK. */
export function emptyAnswer(rpc: string): ConnectError {
	return new ConnectError(`${rpc}: the stream answered with neither a result nor an error`, Code.Internal);
}
