import { Code, ConnectError } from "@connectrpc/connect";
import {
	BadRequestSchema,
	ErrorInfoSchema,
	HelpSchema,
	RetryInfoSchema,
} from "../../../gen/google/rpc/error_details_pb.js";

/** The page that explains why parallel waits are refused. */
export const PARALLEL_WAITS_HELP_URL = "https://taskmesh.dev/docs/waits#parallel-waits";

/** One invalid field of a request, as the service named it. */
export interface FieldViolation {
	field: string;
	description: string;
}

/** What every SDK error carries besides its message. */
export interface TaskmeshErrorDetails {
	/** Machine-readable code: an ErrorInfo reason, or the gRPC code name. */
	code?: string;
	/** The gRPC status code, when the error came from a service. */
	grpcCode?: Code;
	fieldViolations?: FieldViolation[];
	metadata?: Record<string, string>;
	helpUrl?: string;
	cause?: unknown;
}

/** Base class of every error the SDK throws. */
export class TaskmeshError extends Error {
	override name = "TaskmeshError";
	readonly code: string;
	readonly grpcCode: Code | undefined;
	readonly fieldViolations: FieldViolation[];
	readonly metadata: Record<string, string>;
	readonly helpUrl: string | undefined;

	constructor(message: string, details: TaskmeshErrorDetails = {}) {
		super(message, details.cause === undefined ? undefined : { cause: details.cause });
		this.code = details.code ?? "UNKNOWN";
		this.grpcCode = details.grpcCode;
		this.fieldViolations = details.fieldViolations ?? [];
		this.metadata = details.metadata ?? {};
		this.helpUrl = details.helpUrl;
	}
}

/** The SDK or CLI is configured wrongly (no URL, no API key, a bad URL). */
export class ConfigurationError extends TaskmeshError {
	override name = "ConfigurationError";
	constructor(message: string) {
		super(message, { code: "CONFIGURATION" });
	}
}

/** A request was refused as invalid; fieldViolations name each bad field. */
export class TaskmeshValidationError extends TaskmeshError {
	override name = "TaskmeshValidationError";
}

/** A payload or output could not be turned into JSON. */
export class PayloadSerializationError extends TaskmeshValidationError {
	override name = "PayloadSerializationError";
}

/** The run, batch, schedule, task or exporter named does not exist. */
export class NotFoundError extends TaskmeshError {
	override name = "NotFoundError";
}

/** Something with the same name or key already exists. */
export class AlreadyExistsError extends TaskmeshError {
	override name = "AlreadyExistsError";
}

/** The call was refused in the current state (for example canceling a finished run). */
export class FailedPreconditionError extends TaskmeshError {
	override name = "FailedPreconditionError";
}

/** The API key is missing, unknown or revoked. */
export class UnauthenticatedError extends TaskmeshError {
	override name = "UnauthenticatedError";
}

/** The API key may not do this. */
export class PermissionDeniedError extends TaskmeshError {
	override name = "PermissionDeniedError";
}

/** A limit was hit; retry after retryAfterMs when the service said so. */
export class RateLimitedError extends TaskmeshError {
	override name = "RateLimitedError";
	constructor(
		message: string,
		details: TaskmeshErrorDetails,
		readonly retryAfterMs: number | undefined,
	) {
		super(message, details);
	}
}

/** The service could not be reached or is shutting down; the call may be retried. */
export class UnavailableError extends TaskmeshError {
	override name = "UnavailableError";
}

/**
 * A second wait (triggerAndWait, batchTriggerAndWait, wait.*) began while one was
 * pending in the same run. The run fails without retry.
 */
export class ConcurrentWaitError extends TaskmeshError {
	override name = "ConcurrentWaitError";
	constructor(message?: string, details: TaskmeshErrorDetails = {}) {
		super(
			message ??
				`a wait was started while another wait of this run is still pending; parallel waits (for example Promise.all over triggerAndWait or wait.for) are not supported — await each in turn, or use batchTriggerAndWait. See ${PARALLEL_WAITS_HELP_URL}`,
			{ ...details, code: "TASK_DID_CONCURRENT_WAIT", helpUrl: PARALLEL_WAITS_HELP_URL },
		);
	}
}

/** A run that was awaited did not complete; `runId` and the task's error say why. */
export class TaskRunError extends TaskmeshError {
	override name = "TaskRunError";
	constructor(
		readonly runId: string,
		readonly taskError: { name: string; message: string; code: string; stackTrace: string },
	) {
		super(`run ${runId} did not complete: ${taskError.name}: ${taskError.message}`, {
			code: taskError.code === "" ? "TASK_RUN_FAILED" : taskError.code,
		});
	}
}

/**
 * Turns anything a generated client threw into a typed SDK error, reading the
 * google.rpc details (BadRequest, ErrorInfo, RetryInfo, Help) the services attach.
 */
export function fromConnectError(error: unknown): TaskmeshError {
	if (error instanceof TaskmeshError) return error;
	const connect = ConnectError.from(error);
	const violations = connect
		.findDetails(BadRequestSchema)
		.flatMap((d) => d.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
	const info = connect.findDetails(ErrorInfoSchema)[0];
	const retry = connect.findDetails(RetryInfoSchema)[0]?.retryDelay;
	const helpUrl = connect.findDetails(HelpSchema)[0]?.links[0]?.url;
	const details: TaskmeshErrorDetails = {
		code: info?.reason || Code[connect.code],
		grpcCode: connect.code,
		fieldViolations: violations,
		metadata: info?.metadata ?? {},
		cause: error,
		...(helpUrl ? { helpUrl } : {}),
	};
	const message = connect.rawMessage;
	if (info?.reason === "TASK_DID_CONCURRENT_WAIT") {
		return new ConcurrentWaitError(`${message} (see ${PARALLEL_WAITS_HELP_URL})`, details);
	}
	switch (connect.code) {
		case Code.InvalidArgument:
		case Code.OutOfRange:
			return new TaskmeshValidationError(message, details);
		case Code.NotFound:
			return new NotFoundError(message, details);
		case Code.AlreadyExists:
			return new AlreadyExistsError(message, details);
		case Code.FailedPrecondition:
			return new FailedPreconditionError(message, details);
		case Code.Unauthenticated:
			return new UnauthenticatedError(message, details);
		case Code.PermissionDenied:
			return new PermissionDeniedError(message, details);
		case Code.ResourceExhausted: {
			const ms =
				retry === undefined ? undefined : Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6);
			return new RateLimitedError(message, details, ms);
		}
		case Code.Unavailable:
		case Code.DeadlineExceeded:
			return new UnavailableError(message, details);
		default:
			return new TaskmeshError(message, details);
	}
}

/** Runs a client call and rethrows its failure as a typed SDK error. */
export async function call<T>(promise: Promise<T>): Promise<T> {
	try {
		return await promise;
	} catch (error) {
		throw fromConnectError(error);
	}
}
