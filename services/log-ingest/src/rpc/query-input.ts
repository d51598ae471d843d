import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { QueryRequest, TailRequest } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { ServiceError, TIMESTAMP_RANGE } from "../../../kit/src/index.js";
import { MAX_TIME_US, MIN_TIME_US } from "../core/header-rules.js";
import type { LogQuery } from "../core/log-reader.js";
import type { TailTarget } from "../core/tail-follower.js";
import { microsOf, requireId } from "./convert.js";

const DEFAULT_PAGE = 100;
const MAX_PAGE = 1_000;
const DEFAULT_BODY_BYTES = 64 * 1024;
const MAX_TEXT = 1_000;

/** Reads max_body_bytes: 0 means 64 KiB, and no more than is kept inline is ever returned. */
export function maxBodyBytesOf(requested: number, inlineBodyBytes: number): number {
	return Math.min(requested === 0 ? DEFAULT_BODY_BYTES : requested, inlineBodyBytes);
}

function levelsOf(field: string, levels: number[]): number[] {
	for (const [i, level] of levels.entries()) {
		if (!Number.isInteger(level) || level < 1 || level > 5) {
			throw ServiceError.invalidField(`${field}[${i}]`, `${level} is not a level (TRACE to ERROR)`);
		}
	}
	return levels;
}

/** A page token: the (time, id) of the last record of the previous page. */
export function encodePageToken(after: { loggedAtUs: bigint; id: bigint }): string {
	return Buffer.from(`${after.loggedAtUs}:${after.id}`).toString("base64url");
}

function decodePageToken(token: string): { loggedAtUs: bigint; id: bigint } | undefined {
	if (token === "") return undefined;
	const match = /^(-?\d{1,20}):(\d{1,20})$/.exec(Buffer.from(token, "base64url").toString());
	const after =
		match === null ? undefined : { loggedAtUs: BigInt(match[1] as string), id: BigInt(match[2] as string) };
	// Both are PostgreSQL bigints: a number past their range was never in a token.
	if (after === undefined || !fitsBigint(after.loggedAtUs) || !fitsBigint(after.id)) {
		throw ServiceError.invalidField("page_token", "is not a token from a previous response");
	}
	return after;
}

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

function fitsBigint(value: bigint): boolean {
	return value >= BIGINT_MIN && value <= BIGINT_MAX;
}

/** Validates a Query request and turns it into the core's filters. */
export function logQueryOf(request: QueryRequest, inlineBodyBytes: number): LogQuery {
	requireId("environment_id", request.environmentId);
	if (request.runId !== "") requireId("run_id", request.runId);
	if (request.pageSize < 0 || request.pageSize > MAX_PAGE) {
		throw ServiceError.invalidField(
			"page_size",
			`${request.pageSize} is outside 1 to ${MAX_PAGE} (0 means ${DEFAULT_PAGE})`,
		);
	}
	if (request.text.length > MAX_TEXT) {
		throw ServiceError.invalidField(
			"text",
			`${request.text.length} characters is over the limit of ${MAX_TEXT}`,
		);
	}
	if (request.text.includes("\u0000")) throw ServiceError.invalidField("text", "contains a NUL character");
	const fromUs = timeOf("time.start", request.time?.start);
	const toUs = timeOf("time.end", request.time?.end);
	if (fromUs !== undefined && toUs !== undefined && toUs < fromUs) {
		throw ServiceError.invalidField("time.end", "is before time.start");
	}
	return {
		environmentId: request.environmentId,
		runId: request.runId === "" ? undefined : request.runId,
		levels: levelsOf("levels", request.levels),
		fromUs,
		toUs,
		text: request.text === "" ? undefined : request.text,
		pageSize: request.pageSize === 0 ? DEFAULT_PAGE : request.pageSize,
		after: decodePageToken(request.pageToken),
		maxBodyBytes: maxBodyBytesOf(request.maxBodyBytes, inlineBodyBytes),
	};
}

/** Validates a Tail request: the target and the cursor to start after. */
export function tailOf(
	request: TailRequest,
	inlineBodyBytes: number,
): { target: TailTarget; cursor: bigint } {
	requireId("environment_id", request.environmentId);
	requireId("run_id", request.runId);
	if (request.cursor !== "" && !/^\d{1,19}$/.test(request.cursor)) {
		throw ServiceError.invalidField("cursor", "is not a cursor from a LogRecord");
	}
	return {
		target: {
			environmentId: request.environmentId,
			runId: request.runId,
			levels: levelsOf("levels", request.levels),
			maxBodyBytes: maxBodyBytesOf(request.maxBodyBytes, inlineBodyBytes),
		},
		cursor: request.cursor === "" ? 0n : BigInt(request.cursor),
	};
}

/** A query bound in microseconds, refused outside a Timestamp's range (past it, a bigint overflows). */
function timeOf(field: string, time: Timestamp | undefined): bigint | undefined {
	if (time === undefined) return undefined;
	const us = microsOf(time);
	if (us < MIN_TIME_US || us > MAX_TIME_US) throw ServiceError.invalidField(field, TIMESTAMP_RANGE);
	return us;
}
