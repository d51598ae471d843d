/**
 * The one error type every taskmesh service raises. Its code comes from a closed
 * set that maps one-to-one onto gRPC status codes; anything that is not a
 * ServiceError becomes INTERNAL at the transport without leaking its message.
 */
export type ErrorCode =
	| "INVALID_ARGUMENT"
	| "NOT_FOUND"
	| "ALREADY_EXISTS"
	| "FAILED_PRECONDITION"
	| "RESOURCE_EXHAUSTED"
	| "UNAUTHENTICATED"
	| "PERMISSION_DENIED"
	| "UNAVAILABLE"
	| "DEADLINE_EXCEEDED"
	| "CANCELLED"
	| "ABORTED"
	| "INTERNAL";

/** One request field at fault, with what is accepted. */
export interface FieldViolation {
	field: string;
	description: string;
}

/** Optional facts that travel with the error as google.rpc details. */
export interface ServiceErrorOptions {
	fieldViolations?: FieldViolation[];
	/** UPPER_SNAKE_CASE machine-readable reason (google.rpc.ErrorInfo). */
	reason?: string;
	/** Extra facts for the reason, for example a documentation link. */
	metadata?: Record<string, string>;
	/** How long the caller should wait before retrying (google.rpc.RetryInfo). */
	retryAfterMs?: number;
	/** A documentation page that explains the error (google.rpc.Help). */
	helpUrl?: string;
	cause?: unknown;
}

/** An error with a gRPC-mappable code and a message a person can act on. */
export class ServiceError extends Error {
	override readonly name = "ServiceError";
	readonly code: ErrorCode;
	readonly fieldViolations: FieldViolation[];
	readonly reason: string | undefined;
	readonly metadata: Record<string, string>;
	readonly retryAfterMs: number | undefined;
	readonly helpUrl: string | undefined;

	constructor(code: ErrorCode, message: string, options: ServiceErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.code = code;
		this.fieldViolations = options.fieldViolations ?? [];
		this.reason = options.reason;
		this.metadata = options.metadata ?? {};
		this.retryAfterMs = options.retryAfterMs;
		this.helpUrl = options.helpUrl;
	}

	/** INVALID_ARGUMENT for one field; the message names the field. */
	static invalidField(field: string, description: string): ServiceError {
		return new ServiceError("INVALID_ARGUMENT", `${field}: ${description}`, {
			fieldViolations: [{ field, description }],
		});
	}

	/** INVALID_ARGUMENT for several fields at once. */
	static invalidFields(violations: FieldViolation[]): ServiceError {
		const message = violations.map((v) => `${v.field}: ${v.description}`).join("; ");
		return new ServiceError("INVALID_ARGUMENT", message, { fieldViolations: violations });
	}

	/** NOT_FOUND naming the kind of thing and its id. */
	static notFound(kind: string, id: string): ServiceError {
		return new ServiceError("NOT_FOUND", `${kind} "${id}" was not found`);
	}
}

/** True when the value is a ServiceError (also across module copies). */
export function isServiceError(value: unknown): value is ServiceError {
	return value instanceof ServiceError;
}
