import { TaskmeshValidationError } from "../client/errors.js";

/** A length of time: seconds as a number, or a string such as "500ms", "30s", "5m", "2h", "1d". */
export type DurationInput = number | string;

const UNIT_MS: Record<string, number> = {
	ms: 1,
	s: 1000,
	m: 60_000,
	h: 3_600_000,
	d: 86_400_000,
	w: 604_800_000,
};

/** Milliseconds of a duration input; `field` names the option in the error. */
export function durationMs(field: string, value: DurationInput): number {
	if (typeof value === "number") {
		if (!Number.isFinite(value) || value < 0) {
			throw invalid(field, `${value} is not a number of seconds of 0 or more`);
		}
		return Math.round(value * 1000);
	}
	const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(value);
	if (match === null) {
		throw invalid(field, `"${value}" is not a duration like "500ms", "30s", "5m", "2h" or "1d"`);
	}
	return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}

/** A google.protobuf.Duration init from milliseconds. */
export function protoDuration(ms: number): { seconds: bigint; nanos: number } {
	const seconds = Math.floor(ms / 1000);
	return { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Milliseconds of a google.protobuf.Duration, or undefined when unset. */
export function fromProtoDuration(d: { seconds: bigint; nanos: number } | undefined): number | undefined {
	return d === undefined ? undefined : Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
}

/** A google.protobuf.Timestamp init from a Date. */
export function protoTimestamp(date: Date): { seconds: bigint; nanos: number } {
	const ms = date.getTime();
	const seconds = Math.floor(ms / 1000);
	return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1e6 };
}

/** A Date from a google.protobuf.Timestamp, or undefined when unset. */
export function fromProtoTimestamp(t: { seconds: bigint; nanos: number } | undefined): Date | undefined {
	return t === undefined ? undefined : new Date(Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6));
}

function invalid(field: string, description: string): TaskmeshValidationError {
	return new TaskmeshValidationError(`${field}: ${description}`, {
		code: "INVALID_ARGUMENT",
		fieldViolations: [{ field, description }],
	});
}
