import { LENGTH_DELIMITED } from "./fields.js";
import { ProtoWriter } from "./proto-writer.js";

/** One entry of a protobuf-es message's $unknown, which toBinary writes through as it is. */
export interface UnknownField {
	no: number;
	wireType: typeof LENGTH_DELIMITED;
	data: Uint8Array;
}

/**
 * A repeated message field written by hand, as one $unknown entry of the message
 * that holds it: toBinary writes the entry's tag, and its data carries the first
 * element's length and bytes, then each further element with its own tag, so the
 * wire holds exactly the repeated field the contract defines, from one buffer.
 * Undefined when there are no elements (the field is absent).
 */
export function repeatedMessageField<T>(
	no: number,
	items: readonly T[],
	sizeHint: number,
	write: (w: ProtoWriter, item: T, index: number) => void,
): UnknownField | undefined {
	if (items.length === 0) return undefined;
	const w = new ProtoWriter(sizeHint);
	items.forEach((item, index) => {
		if (index > 0) w.tag(no, LENGTH_DELIMITED);
		w.begin();
		write(w, item, index);
		w.end();
	});
	return { no, wireType: LENGTH_DELIMITED, data: w.finish() };
}
