import { Code } from "@connectrpc/connect";
import { fromConnectError } from "../client/errors.js";
import type { WireError } from "./ipc-protocol.js";

/** The field CompleteAttempt names when it refuses an output for its size. */
const OUTPUT_FIELD = "output.output";

/** The platform's default gRPC message limit (the kit's GRPC_MAX_RECEIVE_MESSAGE_BYTES). */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Room a CompleteAttempt request keeps beside its output: ids, output type, framing. */
const REQUEST_HEADROOM_BYTES = 64 * 1024;

/**
 * The scheduler's output limit as this worker knows it. It is not announced; the
 * first refusal of an output (INVALID_ARGUMENT on `output.output`, naming the limit)
 * teaches it, and from then on an output over it is reported as OUTPUT_TOO_LARGE
 * without sending megabytes only to have them refused. An output that would not fit
 * one gRPC message is never sent at all: the server resets the HTTP/2 connection
 * (ENHANCE_YOUR_CALM) and every later call on it failed, heartbeats included.
 */
export class OutputLimit {
	private bytes: number | undefined;

	constructor(private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES) {}

	/** The error to report instead of an output known to be over a limit. */
	check(outputBytes: number): WireError | undefined {
		const room = this.maxMessageBytes - REQUEST_HEADROOM_BYTES;
		if (outputBytes > room) {
			return outputTooLarge(
				outputBytes,
				undefined,
				`a CompleteAttempt request carries at most ${room} bytes of output within the gRPC message limit of ${this.maxMessageBytes} bytes`,
			);
		}
		if (this.bytes !== undefined && outputBytes > this.bytes) return outputTooLarge(outputBytes, this.bytes);
		return undefined;
	}

	/**
	 * When a completion was refused for the output's size, learns the limit and
	 * returns the error to complete the attempt with instead; else undefined. An
	 * output past the gRPC message limit is refused by the transport
	 * (RESOURCE_EXHAUSTED, "larger than max", or "larger than configured writeMaxBytes"
	 * when this client refused to send it) before the scheduler sees it.
	 */
	refusal(error: unknown, outputBytes: number): WireError | undefined {
		const typed = fromConnectError(error);
		if (typed.grpcCode === Code.InvalidArgument) {
			const violation = typed.fieldViolations.find((v) => v.field === OUTPUT_FIELD);
			if (violation === undefined) return undefined;
			const limit = /limit of (\d+) bytes/.exec(violation.description)?.[1];
			if (limit !== undefined) this.bytes = Number(limit);
			return outputTooLarge(outputBytes, this.bytes, violation.description);
		}
		if (
			typed.grpcCode === Code.ResourceExhausted &&
			/larger than (max|configured writeMaxBytes)/i.test(typed.message)
		)
			return outputTooLarge(outputBytes, undefined, typed.message);
		return undefined;
	}
}

/** The non-retryable error an attempt ends with when its output cannot be stored: a retry would return it again. */
export function outputTooLarge(outputBytes: number, limit: number | undefined, detail = ""): WireError {
	const over =
		limit === undefined
			? `too large for the scheduler (${detail})`
			: `over the scheduler's limit of ${limit} bytes (SCHEDULER_MAX_OUTPUT_BYTES)`;
	return {
		name: "OutputTooLargeError",
		message: `the task's output is ${outputBytes} bytes, ${over}; return less, or store large results elsewhere and return a reference to them`,
		stackTrace: "",
		code: "OUTPUT_TOO_LARGE",
		retryable: false,
	};
}
