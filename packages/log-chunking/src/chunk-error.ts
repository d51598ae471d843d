/** What is wrong with a chunk; each kind maps to one gRPC status code in a service. */
export type ChunkErrorKind =
	| "missing-field"
	| "unknown-compression"
	| "corrupt-data"
	| "too-large"
	| "sequence-past-cap"
	| "sequence-out-of-range"
	| "conflicting-count"
	| "misplaced-header"
	| "body-size-mismatch";

/** A chunk (and so its message) cannot be accepted; the message names the field and the limit. */
export class ChunkError extends Error {
	override readonly name = "ChunkError";
	constructor(
		readonly kind: ChunkErrorKind,
		readonly field: string,
		message: string,
	) {
		super(`${field}: ${message}`);
	}
}
