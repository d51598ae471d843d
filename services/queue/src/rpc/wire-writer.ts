/**
 * A minimal protobuf wire-format writer into one growing buffer, for the
 * hand-written encoders of the hot responses (response-encoding.ts). Nested lengths
 * are written after their contents: one byte is reserved, and the contents
 * move along in the rare case the length needs more.
 */
export class WireWriter {
	private buf: Buffer;
	private pos = 0;

	constructor(capacity: number) {
		this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
	}

	/** The bytes written so far (a view, not a copy). */
	bytes(): Buffer {
		return this.buf.subarray(0, this.pos);
	}

	/** A tag: field number and wire type. */
	tag(field: number, wireType: number): void {
		this.varint(field * 8 + wireType);
	}

	/** An unsigned varint of an integer from 0 to 2^53. */
	varint(value: number): void {
		this.ensure(10);
		const buf = this.buf;
		let v = value;
		while (v > 127) {
			buf[this.pos++] = (v % 128) | 128;
			v = Math.floor(v / 128);
		}
		buf[this.pos++] = v;
	}

	/** An int32 or int64 field's varint; negative values take ten bytes, as protobuf sign-extends them. */
	signedVarint(value: number): void {
		if (value >= 0) {
			this.varint(value);
			return;
		}
		this.ensure(10);
		let v = BigInt.asUintN(64, BigInt(value));
		while (v > 127n) {
			this.buf[this.pos++] = Number(v & 127n) | 128;
			v >>= 7n;
		}
		this.buf[this.pos++] = Number(v);
	}

	/** A string field, left out when empty (proto3 implicit presence). */
	string(field: number, value: string): void {
		if (value === "") return;
		this.tag(field, 2);
		const start = this.beginLength();
		this.ensure(value.length * 3);
		this.pos += this.buf.write(value, this.pos, "utf8");
		this.endLength(start);
	}

	/** A bytes field, left out when empty. */
	bytesField(field: number, value: Uint8Array): void {
		if (value.byteLength === 0) return;
		this.tag(field, 2);
		this.varint(value.byteLength);
		this.ensure(value.byteLength);
		this.buf.set(value, this.pos);
		this.pos += value.byteLength;
	}

	/** An int32 field, left out when 0. */
	int32(field: number, value: number): void {
		if (value === 0) return;
		this.tag(field, 0);
		this.signedVarint(value);
	}

	/** A double field, left out when 0. */
	double(field: number, value: number): void {
		if (value === 0) return;
		this.tag(field, 1);
		this.ensure(8);
		this.buf.writeDoubleLE(value, this.pos);
		this.pos += 8;
	}

	/** Starts a length-delimited part (after its tag); returns where it starts. */
	beginLength(): number {
		this.ensure(1);
		const start = this.pos;
		this.pos += 1;
		return start;
	}

	/** Ends a length-delimited part: writes its length in front of it. */
	endLength(start: number): void {
		const length = this.pos - start - 1;
		if (length < 128) {
			this.buf[start] = length;
			return;
		}
		let size = 1;
		for (let v = length; v > 127; v = Math.floor(v / 128)) size += 1;
		this.ensure(size - 1);
		this.buf.copyWithin(start + size, start + 1, this.pos);
		let at = start;
		let v = length;
		while (v > 127) {
			this.buf[at++] = (v % 128) | 128;
			v = Math.floor(v / 128);
		}
		this.buf[at] = v;
		this.pos += size - 1;
	}

	private ensure(room: number): void {
		if (this.pos + room <= this.buf.length) return;
		const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + room));
		this.buf.copy(next, 0, 0, this.pos);
		this.buf = next;
	}
}
