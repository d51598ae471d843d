import { checkDeclaredSize, placeChunk } from "../../../../packages/log-chunking/src/index.js";
import type { MessageGroup } from "./frame-decoder.js";
import { checkHeader, searchTextOf } from "./header-rules.js";
import type { StoredHeader, WholeMessageRow } from "./message-queries.js";
import type { IncomingHeader, LogStoreSettings } from "./types.js";

/** True for a message of one small chunk carrying its header: the single-row fast path. */
export function isWholeOnArrival(group: MessageGroup, settings: LogStoreSettings): boolean {
	if (group.error !== undefined || group.chunks.length !== 1 || group.header === undefined) return false;
	const only = group.chunks[0];
	if (only === undefined || only.chunk.sequence !== 0 || !only.chunk.last) return false;
	if (only.rawSize > settings.inlineBodyBytes || group.head === undefined) return false;
	try {
		placeChunk(only.chunk, 0, settings.limits);
		checkHeader(group.header);
		checkDeclaredSize(only.rawSize, group.header.chunkCount > 0 ? group.header.bodySize : undefined);
		return true;
	} catch {
		// Let the general path report the problem against the message row.
		return false;
	}
}

/** The single row of a message that passed isWholeOnArrival. */
export function wholeRow(group: MessageGroup, runSeq: bigint, now: number): WholeMessageRow {
	const header = group.header as IncomingHeader;
	const head = group.head as Uint8Array;
	return {
		key: group.key,
		environmentId: group.environmentId,
		runId: group.runId,
		messageId: group.messageId,
		runSeq,
		header: storedHeader(header, now),
		bodySize: head.byteLength,
		body: head,
		searchText: searchTextOf(head),
		nowMs: now,
	};
}

/** A header as stored; a message logged without a time takes the time it arrived. */
export function storedHeader(header: IncomingHeader, now: number): StoredHeader {
	return {
		level: header.level,
		loggedAtUs: header.loggedAtUs ?? microsOfMs(now),
		attributes: attributesJson(header.attributes),
		taskId: header.taskId,
		attemptId: header.attemptId,
		traceId: header.traceId,
	};
}

// The last attributes serialized: a task's lines mostly repeat the same ones, and
// comparing them costs a fraction of serializing them again.
let lastAttributes: Record<string, string> = {};
let lastAttributeCount = 0;
let lastAttributesJson = "{}";

/** Attributes as the JSON text stored. */
function attributesJson(attributes: Record<string, string>): string {
	let count = 0;
	let same = true;
	for (const key in attributes) {
		count += 1;
		if (same && lastAttributes[key] !== attributes[key]) same = false;
	}
	if (count === 0) return "{}";
	if (same && count === lastAttributeCount) return lastAttributesJson;
	lastAttributesJson = JSON.stringify(attributes);
	lastAttributes = attributes;
	lastAttributeCount = count;
	return lastAttributesJson;
}

// A frame's messages share one arrival time: its microseconds are made once, not
// as two BigInts per message.
let lastMs = Number.NaN;
let lastMicros = 0n;

function microsOfMs(ms: number): bigint {
	if (ms !== lastMs) {
		lastMicros = BigInt(ms) * 1000n;
		lastMs = ms;
	}
	return lastMicros;
}
