import type { ProtoReader } from "./proto-reader.js";

/**
 * What hand decoders share. They read the shapes clients send and throw
 * NOT_HANDLED at anything else, and their caller gives the whole message to
 * protobuf-es instead, so its answer, or its error, is the one given.
 */

/**
 * The tag a reader meets for a field of a generated descriptor (field number * 8 +
 * wire type), so no decoder writes a field number the .proto already holds.
 */
export function tagOf(field: { number: number }, wireType: 0 | 1 | 2): number {
	return field.number * 8 + wireType;
}

/** Thrown for what a decoder leaves to protobuf-es; made once, it has no stack to build. */
export const NOT_HANDLED = Symbol("left to protobuf-es");

/** A string field; text that is not UTF-8 is protobuf-es's to refuse. */
export function text(r: ProtoReader): string {
	const value = r.string();
	if (value === undefined) throw NOT_HANDLED;
	return value;
}

/** Enters a submessage: returns the end of the enclosing one, to give back to leave(). */
export function enter(r: ProtoReader): number {
	const outer = r.end;
	r.end = r.delimited();
	return outer;
}

/** Leaves a submessage entered with enter(), past whatever of it was not read. */
export function leave(r: ProtoReader, outer: number): void {
	r.pos = r.end;
	r.end = outer;
}
