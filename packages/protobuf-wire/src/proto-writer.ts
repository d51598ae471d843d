/**
 * Protobuf wire-format output into one Buffer, for the hand-written encodings of
 * the services' hottest responses (the scheduler's Run, the queue's deliveries and
 * enqueue results). protobuf-es's BinaryWriter encodes every string into its own
 * array and gathers chunks per submessage; here strings are written in place and a
 * submessage's length byte is reserved up front, its contents moved along only
 * when the length needs more than one byte (most parts are short).
 */
export class ProtoWriter {
	private buf: Buffer;
	private at = 0;
	private readonly open: number[] = [];

	constructor(sizeHint = 256) {
		this.buf = Buffer.allocUnsafe(sizeHint);
	}

	/** What was written (a view of the buffer). */
	finish(): Uint8Array {
		return this.buf.subarray(0, this.at);
	}

	tag(field: number, wireType: 0 | 1 | 2): this {
		return this.uint(field * 8 + wireType);
	}

	/** A varint of a non-negative integer below 2^53. */
	uint(n: number): this {
		this.room(10);
		let rest = n;
		while (rest >= 0x80) {
			this.buf[this.at++] = (rest & 0x7f) | 0x80;
			rest = Math.floor(rest / 0x80);
		}
		this.buf[this.at++] = rest;
		return this;
	}

	/** int32/int64 varint: a negative number is its 64-bit two's complement, ten bytes. */
	int(n: number): this {
		if (n >= 0) return this.uint(n);
		this.room(10);
		let rest = BigInt.asUintN(64, BigInt(n));
		for (let i = 0; i < 9; i++) {
			this.buf[this.at++] = Number(rest & 0x7fn) | 0x80;
			rest >>= 7n;
		}
		this.buf[this.at++] = Number(rest);
		return this;
	}

	double(n: number): this {
		this.room(8);
		this.buf.writeDoubleLE(n, this.at);
		this.at += 8;
		return this;
	}

	/** A string's length and UTF-8 bytes. */
	string(s: string): this {
		// UTF-8 never takes more than 3 bytes per UTF-16 unit.
		if (s.length * 3 < 128) {
			this.room(1 + s.length * 3);
			const start = this.at++;
			const n = this.buf.write(s, this.at, "utf8");
			this.buf[start] = n;
			this.at += n;
			return this;
		}
		return this.bytes(Buffer.from(s, "utf8"));
	}

	/** Bytes with their length in front. */
	bytes(b: Uint8Array): this {
		this.uint(b.byteLength);
		this.room(b.byteLength);
		this.buf.set(b, this.at);
		this.at += b.byteLength;
		return this;
	}

	/** Bytes as they are, already encoded (an unknown field's data after its tag). */
	raw(b: Uint8Array): this {
		this.room(b.byteLength);
		this.buf.set(b, this.at);
		this.at += b.byteLength;
		return this;
	}

	/** Opens a length-delimited part (after its tag). */
	begin(): this {
		this.room(1);
		this.open.push(this.at++);
		return this;
	}

	/** Closes the innermost open part: its length goes in front of it. */
	end(): this {
		const start = this.open.pop() as number;
		const length = this.at - start - 1;
		if (length < 0x80) {
			this.buf[start] = length;
			return this;
		}
		let size = 1;
		for (let rest = length; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
		this.room(size - 1);
		this.buf.copyWithin(start + size, start + 1, this.at);
		const end = this.at + size - 1;
		this.at = start;
		this.uint(length);
		this.at = end;
		return this;
	}

	private room(n: number): void {
		if (this.at + n <= this.buf.length) return;
		const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
		this.buf.copy(bigger, 0, 0, this.at);
		this.buf = bigger;
	}
}
