import type { IngestRequest } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import type { PlainLogChunk } from "./plain-chunk.js";

/** The fields of a LogChunk the encoder writes (a LogChunk from chunkLogMessage has them all). */
export type ChunkToEncode = PlainLogChunk;

const LENGTH_DELIMITED = 2;
const VARINT = 0;

/**
 * Sizes first, bytes second: one allocation per chunk, the data copied once. The
 * bytes are exactly those protobuf-es writes for the same LogChunk (fields in number
 * order, defaults left out, map entries with key and value), which
 * frame-encoding.test.ts checks; a sender saves protobuf-es's reflection, which cost
 * more CPU than everything the log service does with a small chunk.
 */
class ChunkEncoder {
	private at = 0;
	private readonly out: Buffer;

	constructor(size: number) {
		this.out = Buffer.allocUnsafe(size);
	}

	bytes(): Buffer {
		return this.out;
	}

	varint(value: number): void {
		let v = value >>> 0;
		while (v > 0x7f) {
			this.out[this.at++] = (v & 0x7f) | 0x80;
			v >>>= 7;
		}
		this.out[this.at++] = v;
	}

	/** An int32 (negative ones take ten bytes, as the wire format says). */
	int32(value: number): void {
		if (value >= 0) this.varint(value);
		else this.varint64(BigInt.asUintN(64, BigInt(value)));
	}

	varint64(value: bigint): void {
		let v = value;
		while (v > 0x7fn) {
			this.out[this.at++] = Number(v & 0x7fn) | 0x80;
			v >>= 7n;
		}
		this.out[this.at++] = Number(v);
	}

	tag(field: number, wireType: number): void {
		this.varint((field << 3) | wireType);
	}

	string(field: number, value: string, length: number): void {
		this.tag(field, LENGTH_DELIMITED);
		this.varint(length);
		this.at += this.out.write(value, this.at, "utf8");
	}

	raw(data: Uint8Array): void {
		this.out.set(data, this.at);
		this.at += data.byteLength;
	}
}

function varintSize(value: number): number {
	let v = value >>> 0;
	let size = 1;
	while (v > 0x7f) {
		v >>>= 7;
		size += 1;
	}
	return size;
}

function varint64Size(value: bigint): number {
	let v = value;
	let size = 1;
	while (v > 0x7fn) {
		v >>= 7n;
		size += 1;
	}
	return size;
}

function int32Size(value: number): number {
	return value >= 0 ? varintSize(value) : 10;
}

/** Tag, length and bytes of a string field that is set. */
function stringFieldSize(length: number): number {
	return 1 + varintSize(length) + length;
}

/**
 * One LogChunk's wire bytes preceded by their length: what IngestRequest.chunks
 * (field 1) carries after its tag.
 */
export function encodeLogChunkDelimited(chunk: ChunkToEncode): Buffer {
	const ids = [chunk.messageId, chunk.runId, chunk.environmentId];
	const idLengths = ids.map((id) => Buffer.byteLength(id, "utf8"));
	let size = 0;
	for (const length of idLengths) if (length > 0) size += stringFieldSize(length);
	if (chunk.sequence !== 0) size += 1 + varintSize(chunk.sequence);
	if (chunk.last) size += 2;
	if (chunk.compression !== 0) size += 1 + int32Size(chunk.compression);
	if (chunk.data.byteLength > 0) size += 1 + varintSize(chunk.data.byteLength) + chunk.data.byteLength;
	const header = chunk.header;
	let headerSize = 0;
	let attributeSizes: number[] = [];
	let headerTexts: number[] = [];
	let timeSize = 0;
	if (header !== undefined) {
		if (header.level !== 0) headerSize += 1 + int32Size(header.level);
		if (header.time !== undefined) {
			if (header.time.seconds !== 0n) timeSize += 1 + varint64Size(BigInt.asUintN(64, header.time.seconds));
			if (header.time.nanos !== 0) timeSize += 1 + int32Size(header.time.nanos);
			headerSize += 1 + varintSize(timeSize) + timeSize;
		}
		attributeSizes = [];
		for (const key in header.attributes) {
			const keyLength = Buffer.byteLength(key, "utf8");
			const valueLength = Buffer.byteLength(header.attributes[key] as string, "utf8");
			attributeSizes.push(keyLength, valueLength);
			const entry = stringFieldSize(keyLength) + stringFieldSize(valueLength);
			headerSize += 1 + varintSize(entry) + entry;
		}
		if (header.bodySize !== 0n) headerSize += 1 + varint64Size(header.bodySize);
		if (header.chunkCount !== 0) headerSize += 1 + varintSize(header.chunkCount);
		headerTexts = [header.taskId, header.attemptId, header.traceId].map((t) => Buffer.byteLength(t, "utf8"));
		for (const length of headerTexts) if (length > 0) headerSize += stringFieldSize(length);
		size += 1 + varintSize(headerSize) + headerSize;
	}

	const w = new ChunkEncoder(varintSize(size) + size);
	w.varint(size);
	for (let i = 0; i < 3; i++) {
		const length = idLengths[i] as number;
		if (length > 0) w.string(i + 1, ids[i] as string, length);
	}
	if (chunk.sequence !== 0) {
		w.tag(4, VARINT);
		w.varint(chunk.sequence);
	}
	if (chunk.last) {
		w.tag(5, VARINT);
		w.varint(1);
	}
	if (chunk.compression !== 0) {
		w.tag(6, VARINT);
		w.int32(chunk.compression);
	}
	if (chunk.data.byteLength > 0) {
		w.tag(7, LENGTH_DELIMITED);
		w.varint(chunk.data.byteLength);
		w.raw(chunk.data);
	}
	if (header !== undefined) {
		w.tag(8, LENGTH_DELIMITED);
		w.varint(headerSize);
		if (header.level !== 0) {
			w.tag(1, VARINT);
			w.int32(header.level);
		}
		if (header.time !== undefined) {
			w.tag(2, LENGTH_DELIMITED);
			w.varint(timeSize);
			if (header.time.seconds !== 0n) {
				w.tag(1, VARINT);
				w.varint64(BigInt.asUintN(64, header.time.seconds));
			}
			if (header.time.nanos !== 0) {
				w.tag(2, VARINT);
				w.int32(header.time.nanos);
			}
		}
		let i = 0;
		for (const key in header.attributes) {
			const keyLength = attributeSizes[i++] as number;
			const valueLength = attributeSizes[i++] as number;
			const entry = stringFieldSize(keyLength) + stringFieldSize(valueLength);
			w.tag(3, LENGTH_DELIMITED);
			w.varint(entry);
			w.string(1, key, keyLength);
			w.string(2, header.attributes[key] as string, valueLength);
		}
		if (header.bodySize !== 0n) {
			w.tag(4, VARINT);
			w.varint64(header.bodySize);
		}
		if (header.chunkCount !== 0) {
			w.tag(5, VARINT);
			w.varint(header.chunkCount);
		}
		const texts = [header.taskId, header.attemptId, header.traceId];
		for (let t = 0; t < 3; t++) {
			const length = headerTexts[t] as number;
			if (length > 0) w.string(t + 6, texts[t] as string, length);
		}
	}
	return w.bytes();
}

/**
 * An IngestRequest carrying chunks encoded by encodeLogChunkDelimited. They travel
 * as unknown occurrences of field 1, which protobuf-es writes through as they are:
 * the request's bytes are those of an IngestRequest with these chunks, so any client
 * built on protobuf-es (Connect, the SDK) sends it unchanged.
 */
export function ingestRequestOf(encodedChunks: Uint8Array[]): IngestRequest {
	return {
		$typeName: "taskmesh.logs.v1.IngestRequest",
		chunks: [],
		$unknown: encodedChunks.map((data) => ({ no: 1, wireType: LENGTH_DELIMITED, data })),
	};
}
