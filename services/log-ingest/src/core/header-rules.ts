import { isUtf8 } from "node:buffer";
import { ChunkError } from "../../../../packages/log-chunking/src/index.js";
import { TIMESTAMP_MAX_SECONDS, TIMESTAMP_MIN_SECONDS, TIMESTAMP_RANGE } from "../../../kit/src/index.js";
import type { IncomingHeader } from "./types.js";

const MAX_LEVEL = 5;

/**
 * A Timestamp's range in microseconds. A time past it is no time a log line was written,
 * and past about year 294,000 its microseconds overflow the bigint column and fail the
 * whole stream.
 */
export const MIN_TIME_US = TIMESTAMP_MIN_SECONDS * 1_000_000n;
export const MAX_TIME_US = (TIMESTAMP_MAX_SECONDS + 1n) * 1_000_000n - 1n;

/** Checks what PostgreSQL and readers need of a header: a real level and no NUL in text. */
export function checkHeader(header: IncomingHeader): void {
	if (!Number.isInteger(header.level) || header.level < 1 || header.level > MAX_LEVEL) {
		throw new ChunkError("missing-field", "header.level", `${header.level} is not a level (TRACE to ERROR)`);
	}
	const at = header.loggedAtUs;
	if (at !== undefined && (at < MIN_TIME_US || at > MAX_TIME_US)) {
		throw new ChunkError("missing-field", "header.time", `${TIMESTAMP_RANGE}, got ${at} µs since the epoch`);
	}
	// Checked once per small message: plain loops, nothing allocated.
	for (const key in header.attributes) {
		// PostgreSQL text and jsonb cannot hold U+0000; refusing beats silently altering the value.
		if (key.includes("\u0000") || (header.attributes[key] as string).includes("\u0000")) {
			throw new ChunkError(
				"missing-field",
				`header.attributes[${JSON.stringify(key)}]`,
				"contains a NUL character",
			);
		}
	}
	noNul("header.task_id", header.taskId);
	noNul("header.attempt_id", header.attemptId);
	noNul("header.trace_id", header.traceId);
}

function noNul(field: string, value: string): void {
	if (value.includes("\u0000")) throw new ChunkError("missing-field", field, "contains a NUL character");
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * The searchable text of a body's head, or null when the head is valid UTF-8 without
 * NUL: PostgreSQL can then read body_head as text itself, and storing the text again
 * would double what every small message writes. Otherwise: UTF-8 with bad bytes
 * replaced and NULs dropped.
 */
export function searchTextOf(head: Uint8Array): string | null {
	if (isUtf8(head) && !head.includes(0)) return null;
	return decoder.decode(head).replaceAll("\u0000", "");
}
