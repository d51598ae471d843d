/**
 * The times and durations a request may carry, for every service that stores them.
 * Past these a time is no date PostgreSQL or JavaScript holds, and the statement or
 * the arithmetic on it fails: refused here, it is the caller's error, named.
 */

/** google.protobuf.Timestamp's documented range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, in seconds since the epoch. */
export const TIMESTAMP_MIN_SECONDS = -62_135_596_800n;
export const TIMESTAMP_MAX_SECONDS = 253_402_300_799n;
/** How a time outside that range is refused. */
export const TIMESTAMP_RANGE = "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z";

/** The largest nanos a Timestamp or Duration holds: one second less one nanosecond. */
export const MAX_NANOS = 999_999_999;

/** Why a request's Timestamp is no time the stores hold, or undefined when it is one. */
export function timestampRangeProblem(t: { seconds: bigint; nanos: number }): string | undefined {
	const inRange = t.seconds >= TIMESTAMP_MIN_SECONDS && t.seconds <= TIMESTAMP_MAX_SECONDS;
	if (inRange && t.nanos >= 0 && t.nanos <= MAX_NANOS) return undefined;
	return `${TIMESTAMP_RANGE}, got ${t.seconds} s and ${t.nanos} ns since the epoch`;
}

/** Whether a Duration's nanos are a whole number within ±MAX_NANOS. */
export function durationNanosInRange(nanos: number): boolean {
	return Number.isInteger(nanos) && nanos >= -MAX_NANOS && nanos <= MAX_NANOS;
}

/** Whether a Duration's nanos have the sign of its seconds (either may be 0). */
export function durationSignsAgree(d: { seconds: bigint; nanos: number }): boolean {
	return d.seconds === 0n || d.nanos === 0 || d.seconds > 0n === d.nanos > 0;
}

/**
 * Longest duration a request may set: 100 years. Far past any real delay, ttl or
 * timeout, and it keeps every time derived from one (now + duration) a date both
 * stores hold.
 */
export const MAX_DURATION_MS = 100 * 365.25 * 24 * 3_600_000;

/** How a duration over MAX_DURATION_MS is refused. */
export function durationOverLimit(ms: number): string {
	return `${ms} ms is over the limit of ${MAX_DURATION_MS} ms (100 years)`;
}
