import type { PlainLogChunk, PlainLogHeader } from "../../../../packages/log-chunking/src/index.js";

/**
 * Reads one taskmesh.logs.v1.LogChunk from its wire bytes by hand.
 *
 * Ingest receives tens of thousands of chunks a second, most of them one small log
 * line each, and protobuf-es's reflection-based decoder was the largest single cost of
 * the service: about 5 KiB of short-lived objects per chunk (a message object per
 * message field, a tag array per field, a map object), which the garbage collector
 * then paid for again. This reader builds one plain object per chunk (and one per
 * header), keeps `data` as a view of the received frame, and decodes the contract's
 * fields exactly as protobuf-es does (log-chunk-reader.test.ts compares the two):
 * the last value of a repeated scalar wins, a message field seen twice is merged,
 * map entries with a missing key or value take "", unknown fields are skipped, and
 * strings must be valid UTF-8 (proto3), else the chunk is refused.
 */

/** A decoded LogChunk: the fields of the contract's LogChunk that the service reads. */
export type ChunkFields = PlainLogChunk;

/** A decoded LogMessageHeader. */
export type HeaderFields = PlainLogHeader;

/** The bytes are not a well-formed LogChunk; the message says where. */
export class ChunkDecodeError extends Error {
	override readonly name = "ChunkDecodeError";
}

const VARINT = 0;
const BIT64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const BIT32 = 5;
const MAX_DEPTH = 100;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** String slots of lastStrings: which field a value was read from. */
const SLOT = {
	messageId: 0,
	runId: 1,
	environmentId: 2,
	attributeKey: 3,
	attributeValue: 4,
	taskId: 5,
	attemptId: 6,
	traceId: 7,
} as const;

// The last ASCII string read per slot (only ever ASCII, so a byte compares with a char code).
const lastStrings: string[] = Array.from({ length: 8 }, () => "");

/** A cursor over one message's bytes. */
class WireReader {
	pos: number;

	constructor(
		readonly buf: Buffer,
		start: number,
		readonly end: number,
	) {
		this.pos = start;
	}

	/** A varint as a number, keeping its low 32 bits (what int32, uint32, enums and bools need). */
	uint32(): number {
		const buf = this.buf;
		let result = 0;
		let shift = 0;
		for (let i = 0; i < 10; i++) {
			if (this.pos >= this.end) throw new ChunkDecodeError("premature end of data in a varint");
			const byte = buf[this.pos++] as number;
			if (shift < 32) result |= (byte & 0x7f) << shift;
			if ((byte & 0x80) === 0) return result >>> 0;
			shift += 7;
		}
		throw new ChunkDecodeError("a varint longer than 10 bytes");
	}

	/** A varint as an unsigned 64-bit integer. */
	uint64(): bigint {
		let low = 0;
		let high = 0;
		let shift = 0;
		for (let i = 0; i < 10; i++) {
			if (this.pos >= this.end) throw new ChunkDecodeError("premature end of data in a varint");
			const byte = this.buf[this.pos++] as number;
			const bits = byte & 0x7f;
			if (shift < 28) low |= bits << shift;
			else if (shift === 28) {
				low |= (bits & 0x0f) << 28;
				high |= bits >> 4;
			} else high |= bits << (shift - 32);
			if ((byte & 0x80) === 0) {
				// Times in seconds and body sizes fit 32 bits: one BigInt, not four.
				if (high === 0) return BigInt(low >>> 0);
				return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
			}
			shift += 7;
		}
		throw new ChunkDecodeError("a varint longer than 10 bytes");
	}

	/** A varint read as a bool: any bit set is true. */
	bool(): boolean {
		let set = false;
		for (let i = 0; i < 10; i++) {
			if (this.pos >= this.end) throw new ChunkDecodeError("premature end of data in a varint");
			const byte = this.buf[this.pos++] as number;
			if ((byte & 0x7f) !== 0) set = true;
			if ((byte & 0x80) === 0) return set;
		}
		throw new ChunkDecodeError("a varint longer than 10 bytes");
	}

	/** A varint as a signed 64-bit integer. */
	int64(): bigint {
		return BigInt.asIntN(64, this.uint64());
	}

	/** The bounds of a length-delimited field's data; the cursor moves past it. */
	span(): number {
		const length = this.uint32();
		const start = this.pos;
		if (length > this.end - start) throw new ChunkDecodeError("premature end of data in a field");
		this.pos = start + length;
		return start;
	}

	/**
	 * A string field. `slot` names which field it is: the last ASCII value read for
	 * each slot is kept, and bytes equal to it give back the same string, because a
	 * stream repeats its environment, run and attribute names on every line.
	 */
	string(slot: number): string {
		const start = this.span();
		const end = this.pos;
		const buf = this.buf;
		// Ids and attribute keys are nearly always ASCII, which latin1 decodes as is
		// with no validation pass and no view of the bytes.
		if (end - start <= 256) {
			const last = lastStrings[slot] as string;
			if (last.length === end - start) {
				let same = true;
				for (let i = 0; i < last.length; i++) {
					if (buf[start + i] !== last.charCodeAt(i)) {
						same = false;
						break;
					}
				}
				if (same) return last;
			}
			let ascii = true;
			for (let i = start; i < end; i++) {
				if ((buf[i] as number) >= 0x80) {
					ascii = false;
					break;
				}
			}
			if (ascii) {
				const value = buf.toString("latin1", start, end);
				lastStrings[slot] = value;
				return value;
			}
		}
		try {
			return strictUtf8.decode(buf.subarray(start, end));
		} catch {
			throw new ChunkDecodeError("a string field is not valid UTF-8");
		}
	}

	skip(wireType: number, fieldNo: number, depth: number): void {
		switch (wireType) {
			case VARINT:
				this.uint64();
				return;
			case BIT64:
				this.advance(8);
				return;
			case BIT32:
				this.advance(4);
				return;
			case LENGTH_DELIMITED:
				this.span();
				return;
			case START_GROUP:
				if (depth >= MAX_DEPTH) throw new ChunkDecodeError("groups nested too deep");
				for (;;) {
					const tag = this.uint32();
					if ((tag & 7) === END_GROUP) {
						if (tag >>> 3 !== fieldNo) throw new ChunkDecodeError("an end-group tag that does not match");
						return;
					}
					this.skip(tag & 7, tag >>> 3, depth + 1);
				}
			default:
				throw new ChunkDecodeError(`wire type ${wireType} cannot be skipped`);
		}
	}

	private advance(bytes: number): void {
		if (bytes > this.end - this.pos) throw new ChunkDecodeError("premature end of data in a field");
		this.pos += bytes;
	}
}

/** Decodes one LogChunk's bytes; throws ChunkDecodeError when they are malformed. */
export function readLogChunk(bytes: Uint8Array): ChunkFields {
	const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	const r = new WireReader(buf, 0, buf.byteLength);
	const chunk: ChunkFields = {
		messageId: "",
		runId: "",
		environmentId: "",
		sequence: 0,
		last: false,
		compression: 0,
		data: EMPTY,
		header: undefined,
	};
	while (r.pos < r.end) {
		const tag = r.uint32();
		const field = tag >>> 3;
		const wireType = tag & 7;
		switch (wireType === LENGTH_DELIMITED ? field : wireType === VARINT ? -field : 0) {
			case 1:
				chunk.messageId = r.string(SLOT.messageId);
				break;
			case 2:
				chunk.runId = r.string(SLOT.runId);
				break;
			case 3:
				chunk.environmentId = r.string(SLOT.environmentId);
				break;
			case -4:
				chunk.sequence = r.uint32();
				break;
			case -5:
				chunk.last = r.bool();
				break;
			case -6:
				chunk.compression = r.uint32() | 0;
				break;
			case 7: {
				const start = r.span();
				chunk.data = buf.subarray(start, r.pos);
				break;
			}
			case 8: {
				const start = r.span();
				chunk.header ??= emptyHeader();
				readHeader(new WireReader(buf, start, r.pos), chunk.header);
				break;
			}
			default:
				if (field === 0) throw new ChunkDecodeError("field number 0");
				r.skip(wireType, field, 0);
		}
	}
	return chunk;
}

const EMPTY = new Uint8Array(0);

function emptyHeader(): HeaderFields {
	return {
		level: 0,
		time: undefined,
		attributes: {},
		bodySize: 0n,
		chunkCount: 0,
		taskId: "",
		attemptId: "",
		traceId: "",
	};
}

function readHeader(r: WireReader, header: HeaderFields): void {
	while (r.pos < r.end) {
		const tag = r.uint32();
		const field = tag >>> 3;
		const wireType = tag & 7;
		switch (wireType === LENGTH_DELIMITED ? field : wireType === VARINT ? -field : 0) {
			case -1:
				header.level = r.uint32() | 0;
				break;
			case 2: {
				const start = r.span();
				header.time ??= { seconds: 0n, nanos: 0 };
				readTimestamp(new WireReader(r.buf, start, r.pos), header.time);
				break;
			}
			case 3: {
				const start = r.span();
				readAttribute(new WireReader(r.buf, start, r.pos), header.attributes);
				break;
			}
			case -4:
				header.bodySize = r.uint64();
				break;
			case -5:
				header.chunkCount = r.uint32();
				break;
			case 6:
				header.taskId = r.string(SLOT.taskId);
				break;
			case 7:
				header.attemptId = r.string(SLOT.attemptId);
				break;
			case 8:
				header.traceId = r.string(SLOT.traceId);
				break;
			default:
				if (field === 0) throw new ChunkDecodeError("field number 0");
				r.skip(wireType, field, 0);
		}
	}
}

function readTimestamp(r: WireReader, time: { seconds: bigint; nanos: number }): void {
	while (r.pos < r.end) {
		const tag = r.uint32();
		const field = tag >>> 3;
		const wireType = tag & 7;
		if (wireType === VARINT && field === 1) time.seconds = r.int64();
		else if (wireType === VARINT && field === 2) time.nanos = r.uint32() | 0;
		else if (field === 0) throw new ChunkDecodeError("field number 0");
		else r.skip(wireType, field, 0);
	}
}

function readAttribute(r: WireReader, attributes: Record<string, string>): void {
	let key = "";
	let value = "";
	while (r.pos < r.end) {
		const tag = r.uint32();
		const field = tag >>> 3;
		const wireType = tag & 7;
		if (wireType === LENGTH_DELIMITED && field === 1) key = r.string(SLOT.attributeKey);
		else if (wireType === LENGTH_DELIMITED && field === 2) value = r.string(SLOT.attributeValue);
		else if (field === 0) throw new ChunkDecodeError("field number 0");
		else r.skip(wireType, field, 0);
	}
	attributes[key] = value;
}
