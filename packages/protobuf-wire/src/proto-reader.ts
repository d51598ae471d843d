import { isUtf8 } from "node:buffer";

/**
 * Protobuf wire-format input from one Buffer, for the hand-written decoders of
 * the services' hottest requests. It reads only what a decoder asks for and
 * allocates nothing of its own: strings are read straight from the buffer and
 * bytes are views of it, as protobuf-es's are. A decoder that meets something it
 * does not read (an unknown field, a repeated submessage) says so, and its caller
 * hands the whole message to protobuf-es instead.
 */
export class ProtoReader {
	/** The bytes as given, whose views bytes() returns (a Buffer's views are Buffers). */
	readonly input: Uint8Array;
	readonly buf: Buffer;
	/** Where the next read starts. */
	pos: number;
	/** Where the current message ends. */
	end: number;

	constructor(bytes: Uint8Array) {
		this.input = bytes;
		this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
		this.pos = 0;
		this.end = this.buf.length;
	}

	/** Whether the current message has more fields. */
	more(): boolean {
		return this.pos < this.end;
	}

	/**
	 * A varint of up to 32 bits as an unsigned number (a tag, a length). Longer
	 * varints are read to their end and keep their low 32 bits, as int32 fields
	 * written as ten-byte negative numbers need.
	 */
	uint32(): number {
		let value = 0;
		for (let shift = 0; shift < 70; shift += 7) {
			if (this.pos >= this.end) throw new RangeError("varint runs past the end of its message");
			const b = this.buf[this.pos++] as number;
			if (shift < 32) value |= (b & 0x7f) << shift;
			if ((b & 0x80) === 0) return value >>> 0;
		}
		throw new RangeError("varint longer than ten bytes");
	}

	/** An int32 (or enum) field's value. */
	int32(): number {
		return this.uint32() | 0;
	}

	/** An int64 field's value (protobuf-es reads int64 as a bigint). */
	int64(): bigint {
		let low = 0;
		let high = 0;
		for (let shift = 0; shift < 70; shift += 7) {
			if (this.pos >= this.end) throw new RangeError("varint runs past the end of its message");
			const b = this.buf[this.pos++] as number;
			if (shift < 28) low |= (b & 0x7f) << shift;
			else if (shift === 28) {
				low |= (b & 0x0f) << 28;
				high |= (b & 0x7f) >> 4;
			} else high |= (b & 0x7f) << (shift - 32);
			if ((b & 0x80) === 0) return BigInt.asIntN(64, (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0));
		}
		throw new RangeError("varint longer than ten bytes");
	}

	/** A little-endian double. */
	double(): number {
		if (this.pos + 8 > this.end) throw new RangeError("double runs past the end of its message");
		const value = this.buf.readDoubleLE(this.pos);
		this.pos += 8;
		return value;
	}

	/**
	 * The length of a length-delimited field; returns the end of its data (the
	 * reader is at its start).
	 */
	delimited(): number {
		const length = this.uint32();
		const end = this.pos + length;
		if (end > this.end) throw new RangeError("length-delimited field runs past the end of its message");
		return end;
	}

	/** A bytes field: a view of the input, as protobuf-es returns it. */
	bytes(): Uint8Array {
		const end = this.delimited();
		const view = this.input.subarray(this.pos, end);
		this.pos = end;
		return view;
	}

	/**
	 * A string field, or undefined when its bytes are not valid UTF-8 (protobuf-es
	 * refuses those in proto3; the caller lets it say so).
	 */
	string(): string | undefined {
		const end = this.delimited();
		const start = this.pos;
		this.pos = end;
		// Names and ids are ASCII; only text with other bytes needs the full check.
		for (let i = start; i < end; i++) {
			if ((this.buf[i] as number) >= 0x80) {
				if (!isUtf8(this.buf.subarray(start, end))) return undefined;
				break;
			}
		}
		return this.buf.toString("utf8", start, end);
	}
}
