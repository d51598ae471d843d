import { create, toBinary } from "@bufbuild/protobuf";
import { anyPack, DurationSchema } from "@bufbuild/protobuf/wkt";
import { status as GrpcStatus, Metadata, type StatusObject } from "@grpc/grpc-js";
import {
	BadRequestSchema,
	ErrorInfoSchema,
	HelpSchema,
	RetryInfoSchema,
} from "../../../../gen/google/rpc/error_details_pb.js";
import { type Status, StatusSchema } from "../../../../gen/google/rpc/status_pb.js";
import { type ErrorCode, isServiceError, type ServiceError } from "./service-error.js";

/** The domain taskmesh's own ErrorInfo reasons live in. */
export const ERROR_DOMAIN = "taskmesh.dev";

/** The metadata key gRPC uses for google.rpc.Status details. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/** Maps each error code to its gRPC status; the switch is exhaustive by type. */
export function grpcCodeOf(code: ErrorCode): GrpcStatus {
	switch (code) {
		case "INVALID_ARGUMENT":
			return GrpcStatus.INVALID_ARGUMENT;
		case "NOT_FOUND":
			return GrpcStatus.NOT_FOUND;
		case "ALREADY_EXISTS":
			return GrpcStatus.ALREADY_EXISTS;
		case "FAILED_PRECONDITION":
			return GrpcStatus.FAILED_PRECONDITION;
		case "RESOURCE_EXHAUSTED":
			return GrpcStatus.RESOURCE_EXHAUSTED;
		case "UNAUTHENTICATED":
			return GrpcStatus.UNAUTHENTICATED;
		case "PERMISSION_DENIED":
			return GrpcStatus.PERMISSION_DENIED;
		case "UNAVAILABLE":
			return GrpcStatus.UNAVAILABLE;
		case "DEADLINE_EXCEEDED":
			return GrpcStatus.DEADLINE_EXCEEDED;
		case "CANCELLED":
			return GrpcStatus.CANCELLED;
		case "ABORTED":
			return GrpcStatus.ABORTED;
		case "INTERNAL":
			return GrpcStatus.INTERNAL;
		default: {
			const unreachable: never = code;
			throw new Error(`unmapped error code ${String(unreachable)}`);
		}
	}
}

/** Encodes a ServiceError as google.rpc.Status with typed details. */
export function encodeStatusDetails(error: ServiceError): Uint8Array {
	return toBinary(StatusSchema, statusOf(error));
}

/**
 * A ServiceError as a google.rpc.Status message with typed details: what a
 * call's trailers carry, for a stream that answers a refused request in-band.
 */
export function statusOf(error: ServiceError): Status {
	const details = [];
	if (error.fieldViolations.length > 0) {
		details.push(
			anyPack(BadRequestSchema, create(BadRequestSchema, { fieldViolations: error.fieldViolations })),
		);
	}
	if (error.reason !== undefined) {
		details.push(
			anyPack(
				ErrorInfoSchema,
				create(ErrorInfoSchema, {
					reason: error.reason,
					domain: ERROR_DOMAIN,
					metadata: error.metadata,
				}),
			),
		);
	}
	if (error.retryAfterMs !== undefined) {
		const ms = Math.max(0, Math.ceil(error.retryAfterMs));
		details.push(
			anyPack(
				RetryInfoSchema,
				create(RetryInfoSchema, {
					retryDelay: create(DurationSchema, {
						seconds: BigInt(Math.floor(ms / 1000)),
						nanos: (ms % 1000) * 1_000_000,
					}),
				}),
			),
		);
	}
	if (error.helpUrl !== undefined) {
		details.push(
			anyPack(
				HelpSchema,
				create(HelpSchema, { links: [{ description: error.message, url: error.helpUrl }] }),
			),
		);
	}
	return create(StatusSchema, { code: grpcCodeOf(error.code), message: error.message, details });
}

/**
 * Turns anything thrown by a handler into the status sent to the client.
 * Unexpected errors become INTERNAL with a generic message; the caller logs the
 * original.
 */
export function toStatusObject(error: unknown): StatusObject {
	const metadata = new Metadata();
	if (isServiceError(error)) {
		metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatusDetails(error)));
		return { code: grpcCodeOf(error.code), details: error.message, metadata };
	}
	return {
		code: GrpcStatus.INTERNAL,
		details: "internal error; the service logged the cause",
		metadata,
	};
}
