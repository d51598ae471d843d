import type { Resources } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import type { ProtoReader } from "../../../../packages/protobuf-wire/src/index.js";

/**
 * What the queue's hand decoders share. They read the shapes clients send and
 * throw NOT_HANDLED at anything else, and their caller gives the whole message
 * to protobuf-es instead.
 */

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

export function leave(r: ProtoReader, outer: number): void {
	r.pos = r.end;
	r.end = outer;
}

// Tags: field number * 8 + wire type (0 varint, 1 64-bit, 2 length-delimited).
const CPU = 9;
const MEMORY_GB = 17;

/** taskmesh.common.v1.Resources. */
export function resources(r: ProtoReader): Resources {
	const outer = enter(r);
	const value: Resources = { $typeName: "taskmesh.common.v1.Resources", cpu: 0, memoryGb: 0 };
	while (r.more()) {
		const tag = r.uint32();
		if (tag === CPU) value.cpu = r.double();
		else if (tag === MEMORY_GB) value.memoryGb = r.double();
		else throw NOT_HANDLED;
	}
	leave(r, outer);
	return value;
}
