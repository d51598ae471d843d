import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { LogRecordSchema } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { ServiceError } from "../../../kit/src/index.js";
import type { IncomingChunk, Rejection, StoredLogRecord } from "../core/types.js";
import type { ChunkFields } from "./log-chunk-reader.js";

/** Longest id accepted for message, run and environment ids. */
export const MAX_ID_LENGTH = 256;

/** Checks an id field: present, not too long, storable. */
export function requireId(field: string, value: string): string {
	if (isGoodId(value)) return value;
	if (value === "") throw ServiceError.invalidField(field, "is required");
	if (value.length > MAX_ID_LENGTH) {
		throw ServiceError.invalidField(
			field,
			`${value.length} characters is over the limit of ${MAX_ID_LENGTH}`,
		);
	}
	if (value.includes("\u0000")) throw ServiceError.invalidField(field, "contains a NUL character");
	return value;
}

/** True for an id requireId accepts. */
function isGoodId(value: string): boolean {
	return value !== "" && value.length <= MAX_ID_LENGTH && !value.includes("\u0000");
}

/** Microseconds since the epoch of a protobuf Timestamp. */
export function microsOf(time: Pick<Timestamp, "seconds" | "nanos">): bigint {
	// Any time of the next 285 years fits a double exactly in microseconds: one BigInt per header.
	if (time.seconds >= MIN_SAFE_SECONDS && time.seconds <= MAX_SAFE_SECONDS) {
		return BigInt(Number(time.seconds) * 1_000_000 + Math.floor(time.nanos / 1000));
	}
	return time.seconds * 1_000_000n + BigInt(Math.floor(time.nanos / 1000));
}

/** Seconds whose microseconds (plus a second of nanos) stay a safe integer. */
const MAX_SAFE_SECONDS = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 1_000_000) - 1);
const MIN_SAFE_SECONDS = -MAX_SAFE_SECONDS;

/** A Timestamp from microseconds since the epoch. */
export function timestampOfMicros(us: bigint): Timestamp {
	const ms = us / 1000n;
	const stamp = timestampFromMs(Number(ms));
	stamp.nanos += Number(us % 1000n) * 1000;
	return stamp;
}

/**
 * A chunk of the stream as the core takes it (from a LogChunk or its hand-decoded
 * fields, which have the same shape). A chunk that names no message,
 * run or environment cannot be attributed to any message, so it fails the whole
 * stream (chunks of earlier frames stay stored); everything else is judged per message.
 */
export function incomingChunk(
	chunk: ChunkFields,
	index: number,
	frame: number,
	position: number,
): IncomingChunk {
	// The field's name is built only for a chunk that fails: this runs for every small message.
	if (!isGoodId(chunk.messageId) || !isGoodId(chunk.runId) || !isGoodId(chunk.environmentId)) {
		const at = `frames[${frame}].chunks[${position}]`;
		requireId(`${at}.message_id`, chunk.messageId);
		requireId(`${at}.run_id`, chunk.runId);
		requireId(`${at}.environment_id`, chunk.environmentId);
	}
	const header = chunk.header;
	return {
		messageId: chunk.messageId,
		runId: chunk.runId,
		environmentId: chunk.environmentId,
		sequence: chunk.sequence,
		last: chunk.last,
		compression: chunk.compression,
		data: chunk.data,
		index,
		header:
			header === undefined
				? undefined
				: {
						level: header.level,
						loggedAtUs: header.time === undefined ? undefined : microsOf(header.time),
						attributes: header.attributes,
						bodySize: header.bodySize,
						chunkCount: header.chunkCount,
						taskId: header.taskId,
						attemptId: header.attemptId,
						traceId: header.traceId,
					},
	};
}

// google.rpc.Code numbers, as ItemFailure.code carries them.
const CODE = { invalid: 3, "too-large": 8, closed: 9 } as const;

/** A rejection as the summary reports it. */
export function itemFailure(rejection: Rejection) {
	return {
		index: rejection.index,
		id: rejection.messageId,
		code: CODE[rejection.kind],
		message: rejection.message,
	};
}

/** A stored record as the contract shapes it. */
export function logRecord(record: StoredLogRecord): MessageInitShape<typeof LogRecordSchema> {
	return {
		messageId: record.messageId,
		runId: record.runId,
		level: record.level,
		time: timestampOfMicros(record.loggedAtUs),
		attributes: record.attributes,
		body: record.body,
		bodySize: record.bodySize,
		bodyTruncated: record.bodyTruncated,
		incomplete: record.incomplete,
		cursor: record.cursor.toString(),
		taskId: record.taskId,
		attemptId: record.attemptId,
		traceId: record.traceId,
	};
}
