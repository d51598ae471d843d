import type { Resources } from "../../../../gen/taskmesh/common/v1/common_pb.js";
import {
	enter,
	leave,
	NOT_HANDLED,
	type ProtoReader,
	text,
} from "../../../../packages/protobuf-wire/src/index.js";

/** The queue's hand decoders read through the shared helpers and this one of its own. */
export { enter, leave, NOT_HANDLED, text };

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
