/** A column value in PostgreSQL's binary COPY format, by the column's type. */
export type CopyValue =
	| { type: "text"; value: string }
	| { type: "int2" | "int4"; value: number }
	| { type: "int8"; value: bigint }
	| { type: "bool"; value: boolean }
	| { type: "bytea"; value: Uint8Array }
	| { type: "jsonb"; value: string }
	| null;

/** The start of every binary COPY stream, written and read. */
export const COPY_SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");
/** CopyData: the message type byte and the message length, ahead of the COPY stream. */
const COPY_DATA_HEADER_BYTES = 5;
const TWO_TO_32 = 2 ** 32;
/** 2000-01-01T00:00:00Z, where PostgreSQL's timestamps count from. */
const POSTGRES_EPOCH_MS = Date.UTC(2000, 0, 1);
/** pg_type's OID of text, an array's element type. */
const TEXT_OID = 25;
/** Strings up to this many characters are tried as ASCII first (see CopyWriter.ascii). */
const SHORT_TEXT = 64;
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Buffers COPY data is written into, kept for the next frame instead of left to the
 * garbage collector: a frame's rows take a buffer as large as the frame, and dead
 * buffers of that size piling up between collections is what moved the service's
 * resident memory while a large message passed. A buffer comes back only once the
 * socket has taken its bytes.
 */
export class CopyBufferPool {
	private readonly free: Buffer[] = [];

	constructor(
		/** Buffers kept at most: about one per frame written at once. */
		private readonly keep = 4,
		/** Larger buffers are left to the collector. */
		private readonly maxBytes = 8 * 1024 * 1024,
	) {}

	/** A buffer of at least this many bytes. */
	take(bytes: number): Buffer {
		let best = -1;
		for (let i = 0; i < this.free.length; i++) {
			const size = (this.free[i] as Buffer).byteLength;
			if (size >= bytes && (best < 0 || size < (this.free[best] as Buffer).byteLength)) best = i;
		}
		if (best >= 0) return this.free.splice(best, 1)[0] as Buffer;
		return Buffer.allocUnsafe(Math.max(bytes, 64 * 1024));
	}

	/** Hands a buffer back; nothing may use it afterwards. */
	give(buffer: Buffer): void {
		if (buffer.byteLength > this.maxBytes) return;
		if (this.free.length < this.keep) {
			this.free.push(buffer);
			return;
		}
		// Keep the larger ones: a small buffer is cheap to allocate again.
		let smallest = 0;
		for (let i = 1; i < this.free.length; i++) {
			if ((this.free[i] as Buffer).byteLength < (this.free[smallest] as Buffer).byteLength) smallest = i;
		}
		if ((this.free[smallest] as Buffer).byteLength < buffer.byteLength) this.free[smallest] = buffer;
	}
}

/**
 * Writes rows in PostgreSQL's binary COPY format straight into one growing buffer,
 * which starts with room for the CopyData message header: the finished buffer goes
 * to the server's socket as it is. Bytes travel as they are (no hex), numbers as
 * fixed-width integers, and nothing per field is allocated, which keeps the hot path
 * of many small rows free of garbage and of copies.
 */
export class CopyWriter {
	private buffer: Buffer;
	/** The buffer's size, kept as a field: reading byteLength on every field cost more than the write. */
	private capacity: number;
	private at: number;
	private rows = 0;

	/**
	 * expectedBytes sizes the first buffer; it grows by doubling when rows need more.
	 * With a pool, buffers come from it and go back to it (see release()).
	 */
	constructor(
		expectedBytes = 64 * 1024,
		private readonly pool?: CopyBufferPool,
	) {
		const bytes = Math.max(1024, expectedBytes + COPY_DATA_HEADER_BYTES + 32);
		this.buffer = pool?.take(bytes) ?? Buffer.allocUnsafe(bytes);
		this.capacity = this.buffer.byteLength;
		this.at = COPY_DATA_HEADER_BYTES + COPY_SIGNATURE.copy(this.buffer, COPY_DATA_HEADER_BYTES);
		this.at = this.buffer.writeInt32BE(0, this.at); // flags
		this.at = this.buffer.writeInt32BE(0, this.at); // header extension length
	}

	/** Rows written so far. */
	get rowCount(): number {
		return this.rows;
	}

	/** Starts a row of this many fields. */
	row(fields: number): this {
		this.reserve(2);
		this.at = put16(this.buffer, this.at, fields);
		this.rows += 1;
		return this;
	}

	null(): this {
		this.reserve(4);
		this.at = put32(this.buffer, this.at, -1);
		return this;
	}

	text(value: string): this {
		if (value.length === 0) return this.lengthOnly(0);
		this.reserveText(4, value);
		const length = this.utf8(value, this.at + 4);
		put32(this.buffer, this.at, length);
		this.at += 4 + length;
		return this;
	}

	/** jsonb's binary form: a version byte (1), then the JSON text. */
	jsonb(json: string): this {
		this.reserveText(5, json);
		this.buffer[this.at + 4] = 1;
		const length = this.utf8(json, this.at + 5);
		put32(this.buffer, this.at, length + 1);
		this.at += 5 + length;
		return this;
	}

	int2(value: number): this {
		// A value past the column's range must fail, as Buffer's writer made it, not wrap.
		if (value < -32768 || value > 32767) throw new RangeError(`${value} does not fit an int2 column`);
		this.reserve(6);
		this.at = put16(this.buffer, put32(this.buffer, this.at, 2), value);
		return this;
	}

	int4(value: number): this {
		if (value < -2147483648 || value > 2147483647)
			throw new RangeError(`${value} does not fit an int4 column`);
		this.reserve(8);
		this.at = put32(this.buffer, put32(this.buffer, this.at, 4), value);
		return this;
	}

	/** An int8 from a safe integer (sizes, milliseconds), with no BigInt on the way. */
	int8(value: number): this {
		this.reserve(12);
		const at = put32(this.buffer, put32(this.buffer, this.at, 8), Math.floor(value / TWO_TO_32));
		this.at = put32(this.buffer, at, value >>> 0);
		return this;
	}

	int8Big(value: bigint): this {
		// Cursors and microsecond times fit a double exactly; Buffer's BigInt writer
		// allocates on every call, which showed in the profile at two values per row.
		if (value >= MIN_SAFE && value <= MAX_SAFE) return this.int8(Number(value));
		this.reserve(12);
		this.at = this.buffer.writeBigInt64BE(value, put32(this.buffer, this.at, 8));
		return this;
	}

	float8(value: number): this {
		this.reserve(12);
		this.at = this.buffer.writeDoubleBE(value, put32(this.buffer, this.at, 8));
		return this;
	}

	/** A timestamptz from ms since the epoch: microseconds since 2000-01-01 UTC, as the server keeps it. */
	timestamptz(ms: number): this {
		return this.int8((ms - POSTGRES_EPOCH_MS) * 1000);
	}

	/** A text[] of one dimension (no NULL elements). */
	textArray(values: readonly string[]): this {
		const start = this.at;
		this.reserve(4 + 20);
		this.at += 4; // the length, written when the elements are
		this.at = this.buffer.writeInt32BE(values.length === 0 ? 0 : 1, this.at); // dimensions
		this.at = this.buffer.writeInt32BE(0, this.at); // no NULLs
		this.at = this.buffer.writeInt32BE(TEXT_OID, this.at);
		if (values.length > 0) {
			this.at = this.buffer.writeInt32BE(values.length, this.at);
			this.at = this.buffer.writeInt32BE(1, this.at); // lower bound
			for (const value of values) this.text(value);
		}
		this.buffer.writeInt32BE(this.at - start - 4, start);
		return this;
	}

	bool(value: boolean): this {
		this.reserve(5);
		const at = put32(this.buffer, this.at, 1);
		this.buffer[at] = value ? 1 : 0;
		this.at = at + 1;
		return this;
	}

	bytea(value: Uint8Array): this {
		this.reserve(4 + value.byteLength);
		this.buffer.set(value, put32(this.buffer, this.at, value.byteLength));
		this.at += 4 + value.byteLength;
		return this;
	}

	/** Any CopyValue, for callers that hold rows as values. */
	value(field: CopyValue): this {
		if (field === null) return this.null();
		switch (field.type) {
			case "text":
				return this.text(field.value);
			case "jsonb":
				return this.jsonb(field.value);
			case "int2":
				return this.int2(field.value);
			case "int4":
				return this.int4(field.value);
			case "int8":
				return this.int8Big(field.value);
			case "bool":
				return this.bool(field.value);
			case "bytea":
				return this.bytea(field.value);
		}
	}

	/**
	 * Ends the COPY stream and returns it as one CopyData message (type byte, length,
	 * data), ready for the socket. The writer is done after this.
	 */
	finish(): Buffer {
		this.reserve(2);
		this.at = this.buffer.writeInt16BE(-1, this.at);
		this.buffer[0] = 0x64; // 'd'
		this.buffer.writeInt32BE(this.at - 1, 1);
		return this.buffer.subarray(0, this.at);
	}

	/** Gives the buffer back to the pool once what finish() returned has been sent. */
	release(): void {
		this.pool?.give(this.buffer);
	}

	/**
	 * Writes a short string's characters as bytes when all are ASCII (ids nearly always
	 * are): a plain loop beats the call into the UTF-8 encoder for a few characters,
	 * and three ids per row are written this way. False (with nothing written that
	 * counts) when a character is not ASCII.
	 */
	private ascii(value: string, at: number): boolean {
		const buffer = this.buffer;
		for (let i = 0; i < value.length; i++) {
			const code = value.charCodeAt(i);
			if (code >= 0x80) return false;
			buffer[at + i] = code;
		}
		return true;
	}

	/** Writes a string's UTF-8 bytes at `at` (room reserved); returns how many. */
	private utf8(value: string, at: number): number {
		if (value.length <= SHORT_TEXT && this.ascii(value, at)) return value.length;
		return this.buffer.write(value, at, "utf8");
	}

	private lengthOnly(length: number): this {
		this.reserve(4);
		this.at = put32(this.buffer, this.at, length);
		return this;
	}

	/** Room for a string: UTF-8 takes at most three bytes per UTF-16 unit, counted exactly only when tight. */
	private reserveText(prefix: number, value: string): void {
		if (this.at + prefix + value.length * 3 <= this.capacity) return;
		this.reserve(prefix + Buffer.byteLength(value, "utf8"));
	}

	private reserve(bytes: number): void {
		if (this.at + bytes <= this.capacity) return;
		const size = Math.max(this.capacity * 2, this.at + bytes + 1024);
		const grown = this.pool?.take(size) ?? Buffer.allocUnsafe(size);
		this.buffer.copy(grown, 0, 0, this.at);
		this.pool?.give(this.buffer);
		this.buffer = grown;
		this.capacity = grown.byteLength;
	}
}

// Fixed-width fields are stored byte by byte: Buffer's writeInt32BE checks its
// arguments on every call, and a row of twenty fields made those checks a tenth of
// the log service's CPU per small message. Callers have reserved the room.

/** Writes a 32-bit integer (signed or not) big-endian at `at`; returns the offset after it. */
function put32(buffer: Buffer, at: number, value: number): number {
	buffer[at] = value >>> 24;
	buffer[at + 1] = value >>> 16;
	buffer[at + 2] = value >>> 8;
	buffer[at + 3] = value;
	return at + 4;
}

/** Writes a 16-bit integer big-endian at `at`; returns the offset after it. */
function put16(buffer: Buffer, at: number, value: number): number {
	buffer[at] = value >>> 8;
	buffer[at + 1] = value;
	return at + 2;
}

/** A writer holding rows given as values. */
export function copyWriterOf(rows: CopyValue[][]): CopyWriter {
	const writer = new CopyWriter();
	for (const row of rows) {
		writer.row(row.length);
		for (const field of row) writer.value(field);
	}
	return writer;
}
