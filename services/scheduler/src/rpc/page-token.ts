import { ServiceError } from "../../../kit/src/index.js";

/** An opaque page token for a position (an id or an offset). */
export function encodePageToken(position: string): string {
	return position === "" ? "" : Buffer.from(`p1:${position}`).toString("base64url");
}

/** The position in a page token; INVALID_ARGUMENT for a token this service did not make. */
export function decodePageToken(token: string): string {
	if (token === "") return "";
	const text = Buffer.from(token, "base64url").toString();
	// encodePageToken never makes a token of an empty position: "p1:" alone is not one of ours.
	if (!text.startsWith("p1:") || text.length === 3) throw notOurToken();
	return text.slice(3);
}

/** The offset in a page token of an offset-paged list; 0 without a token. */
export function decodeOffsetPageToken(token: string): number {
	const position = decodePageToken(token);
	if (position === "") return 0;
	// Digits only: Number() would take "1.5", "-2", " 7" or "1e3", and a bad offset
	// silently read as 0 answered the first page again.
	const offset = /^[0-9]{1,15}$/.test(position) ? Number(position) : Number.NaN;
	if (!Number.isSafeInteger(offset)) throw notOurToken();
	return offset;
}

function notOurToken(): ServiceError {
	return ServiceError.invalidField("page_token", "is not a token from a previous response");
}

/** A page size within bounds; 0 takes the default. */
export function pageSizeOf(value: number, defaultSize: number, max: number, field = "page_size"): number {
	if (value === 0) return defaultSize;
	if (value < 1 || value > max) throw ServiceError.invalidField(field, `must be 1 to ${max}, got ${value}`);
	return value;
}

/** Throws INVALID_ARGUMENT when a required string is empty or holds a NUL. */
export function required(value: string, field: string): string {
	if (value === "") throw ServiceError.invalidField(field, "is required");
	// PostgreSQL text cannot hold U+0000, so no id or name holds one.
	if (value.includes("\u0000")) throw ServiceError.invalidField(field, "contains a NUL character (U+0000)");
	return value;
}

/** A repeated field must hold 1 to `max` elements (`noun` names them in the message). */
export function requireCount(field: string, count: number, max: number, noun: string): void {
	if (count === 0 || count > max) {
		throw ServiceError.invalidField(field, `must hold 1 to ${max} ${noun}, got ${count}`);
	}
}
