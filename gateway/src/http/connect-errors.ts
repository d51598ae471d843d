import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	BadRequestSchema,
	ErrorInfoSchema,
	RetryInfoSchema,
} from "../../../gen/google/rpc/error_details_pb.js";
import {
	ERROR_DOMAIN,
	grpcCodeOf,
	isServiceError,
	type ServiceError,
} from "../../../services/kit/src/index.js";

/**
 * The error a caller of the gateway receives. A service's error keeps its code,
 * message and google.rpc details but none of its transport headers (which
 * would corrupt the gateway's own response); the gateway's own ServiceErrors
 * get the same details a service would send; anything else is INTERNAL.
 */
export function toConnectError(error: unknown): ConnectError {
	if (isServiceError(error)) return fromServiceError(error);
	if (error instanceof ConnectError) {
		const clean = new ConnectError(error.rawMessage, error.code, undefined, undefined, error);
		clean.details = error.details;
		return clean;
	}
	return new ConnectError(
		"internal error; the gateway logged the cause",
		Code.Internal,
		undefined,
		undefined,
		error,
	);
}

function fromServiceError(error: ServiceError): ConnectError {
	const details: ConnectError["details"] = [];
	if (error.fieldViolations.length > 0) {
		details.push({ desc: BadRequestSchema, value: { fieldViolations: error.fieldViolations } });
	}
	if (error.reason !== undefined) {
		details.push({
			desc: ErrorInfoSchema,
			value: { reason: error.reason, domain: ERROR_DOMAIN, metadata: error.metadata },
		});
	}
	const headers = new Headers();
	if (error.retryAfterMs !== undefined) {
		const ms = Math.max(0, Math.ceil(error.retryAfterMs));
		details.push({
			desc: RetryInfoSchema,
			value: {
				retryDelay: create(DurationSchema, {
					seconds: BigInt(Math.floor(ms / 1000)),
					nanos: (ms % 1000) * 1_000_000,
				}),
			},
		});
		// HTTP clients and proxies understand Retry-After (whole seconds) without decoding details.
		headers.set("retry-after", String(Math.max(1, Math.ceil(ms / 1000))));
	}
	const connectError = new ConnectError(
		error.message,
		grpcCodeOf(error.code) as number as Code,
		headers,
		undefined,
		error.cause,
	);
	connectError.details = details;
	return connectError;
}
