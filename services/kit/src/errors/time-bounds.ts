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
