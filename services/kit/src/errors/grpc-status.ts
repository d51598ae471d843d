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
import { type ErrorCode, type FieldViolation, isServiceError, ServiceError } from "./service-error.js";

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
			anyPack(
				BadRequestSchema,
				create(BadRequestSchema, { fieldViolations: fittingViolations(error.fieldViolations) }),
			),
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
	return create(StatusSchema, { code: grpcCodeOf(error.code), message: clipText(error.message), details });
}

/**
 * Most UTF-8 bytes of a status message. A message echoes the caller's input (an id, a
 * name), and it travels twice in the trailers (grpc-message, and inside
 * grpc-status-details-bin): a 70,000-character id made trailers no client would take,
 * and the call hung with every later call on its connection.
 */
const MAX_MESSAGE_BYTES = 4096;
/** Most UTF-8 bytes of all field violations a status carries. */
const MAX_VIOLATION_BYTES = 16_384;

/** The text, cut at MAX_MESSAGE_BYTES (or maxBytes) and saying so. */
export function clipText(text: string, maxBytes = MAX_MESSAGE_BYTES): string {
	if (text.length <= maxBytes / 3 || Buffer.byteLength(text) <= maxBytes) return text;
	const note = ` … (cut; ${[...text].length} characters in all)`;
	let kept = Buffer.from(text)
		.subarray(0, maxBytes - Buffer.byteLength(note))
		.toString();
	// A cut inside a character leaves U+FFFD at the end; drop it.
	if (kept.endsWith("\uFFFD")) kept = kept.slice(0, -1);
	return kept + note;
}

/** As many violations as fit MAX_VIOLATION_BYTES, each clipped; the message names them all. */
function fittingViolations(violations: readonly FieldViolation[]): FieldViolation[] {
	const kept: FieldViolation[] = [];
	let bytes = 0;
	for (const v of violations) {
		const field = clipText(v.field, 512);
		const description = clipText(v.description, 1024);
		bytes += Buffer.byteLength(field) + Buffer.byteLength(description);
		if (bytes > MAX_VIOLATION_BYTES) break;
		kept.push({ field, description });
	}
	return kept;
}

/**
 * Turns anything thrown by a handler into the status sent to the client.
 * Unexpected errors become INTERNAL with a generic message; the caller logs the
 * original.
 */
export function toStatusObject(thrown: unknown): StatusObject {
	const metadata = new Metadata();
	const error = callersError(thrown);
	if (error !== undefined) {
		metadata.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatusDetails(error)));
		return { code: grpcCodeOf(error.code), details: clipText(error.message), metadata };
	}
	return {
		code: GrpcStatus.INTERNAL,
		details: "internal error; the service logged the cause",
		metadata,
	};
}

/**
 * The error as the caller's fault, or undefined when it is the service's own: a
 * ServiceError, or a store's refusal of input the service let through (a NUL).
 */
export function callersError(thrown: unknown): ServiceError | undefined {
	if (isServiceError(thrown)) return thrown;
	return storeRefusedNul(thrown);
}

/**
 * PostgreSQL's refusal of a U+0000 in text (SQLSTATE 22021) or in jsonb (22P05), as
 * the caller's error: a request that reached a statement with one, past the fields a
 * service checks by name, is bad input, never an INTERNAL failure of the service.
 */
function storeRefusedNul(error: unknown): ServiceError | undefined {
	const e = error as { code?: unknown; message?: unknown; detail?: unknown } | null;
	// The text: 'invalid byte sequence for encoding "UTF8": 0x00'. The jsonb: "unsupported
	// Unicode escape sequence", with "\u0000 cannot be converted to text." as its detail.
	const said = `${String(e?.message ?? "")} ${String(e?.detail ?? "")}`;
	const nul =
		(e?.code === "22021" && said.includes("0x00")) || (e?.code === "22P05" && said.includes("\\u0000"));
	if (!nul) return undefined;
	return new ServiceError(
		"INVALID_ARGUMENT",
		"a text field holds a NUL character (U+0000), which cannot be stored; remove it",
	);
}
