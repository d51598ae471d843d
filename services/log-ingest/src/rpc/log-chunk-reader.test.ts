import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type LogChunk, LogChunkSchema, LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { edgeCaseChunks } from "../../../../packages/log-chunking/src/testing/edge-chunks.js";
import { ChunkDecodeError, type ChunkFields, readLogChunk } from "./log-chunk-reader.js";

/** What the service reads of a LogChunk decoded by protobuf-es. */
function fieldsOf(chunk: LogChunk): ChunkFields {
	const h = chunk.header;
	return {
		messageId: chunk.messageId,
		runId: chunk.runId,
		environmentId: chunk.environmentId,
		sequence: chunk.sequence,
		last: chunk.last,
		compression: chunk.compression,
		data: chunk.data,
		header:
			h === undefined
				? undefined
				: {
						level: h.level,
						time: h.time === undefined ? undefined : { seconds: h.time.seconds, nanos: h.time.nanos },
						attributes: { ...h.attributes },
						bodySize: h.bodySize,
						chunkCount: h.chunkCount,
						taskId: h.taskId,
						attemptId: h.attemptId,
						traceId: h.traceId,
					},
	};
}

function plain(fields: ChunkFields) {
	return { ...fields, data: [...fields.data], header: fields.header && { ...fields.header } };
}

function assertSameAsProtobufEs(bytes: Uint8Array): void {
	assert.deepEqual(plain(readLogChunk(bytes)), plain(fieldsOf(fromBinary(LogChunkSchema, bytes))));
}

const samples = edgeCaseChunks();

describe("readLogChunk", () => {
	test("decodes every field as protobuf-es does", () => {
		for (const sample of samples)
			assertSameAsProtobufEs(toBinary(LogChunkSchema, create(LogChunkSchema, sample)));
	});

	test("skips unknown fields of every wire type, as protobuf-es does", () => {
		const chunk = create(LogChunkSchema, samples[2]);
		chunk.$unknown = [
			{ no: 20, wireType: 0, data: Uint8Array.of(0xff, 0x01) },
			{ no: 21, wireType: 1, data: new Uint8Array(8) },
			{ no: 22, wireType: 2, data: Uint8Array.of(3, 1, 2, 3) },
			{ no: 23, wireType: 5, data: new Uint8Array(4) },
			// A group: a varint field inside, then the end-group tag of field 24 (196 as a varint).
			{ no: 24, wireType: 3, data: Uint8Array.of(0x08, 0x01, 0xc4, 0x01) },
		];
		if (chunk.header) chunk.header.$unknown = [{ no: 99, wireType: 2, data: Uint8Array.of(1, 7) }];
		assertSameAsProtobufEs(toBinary(LogChunkSchema, chunk));
	});

	test("a chunk sent as two concatenated encodings merges them, header and attributes included", () => {
		const first = toBinary(LogChunkSchema, create(LogChunkSchema, samples[2]));
		const second = toBinary(
			LogChunkSchema,
			create(LogChunkSchema, {
				messageId: "other",
				sequence: 1,
				header: { level: LogLevel.WARN, time: { nanos: 5 }, attributes: { a: "2", b: "3" }, taskId: "t2" },
			}),
		);
		assertSameAsProtobufEs(Buffer.concat([first, second]));
	});

	test("strings of the same length as the previous chunk's but other bytes are read as sent", () => {
		// The reader gives back the previous string of a field when the bytes are equal;
		// chunks in a row whose ids, names and values differ only in their characters.
		const texts = ["run_1", "run_2", "run_1", "rün_1", "run_1", "RUN_1"];
		for (const [i, text] of texts.entries()) {
			const bytes = toBinary(
				LogChunkSchema,
				create(LogChunkSchema, {
					messageId: `m${i % 2}`,
					runId: text,
					environmentId: text.toUpperCase(),
					header: { level: LogLevel.INFO, attributes: { [text]: text }, taskId: text, traceId: `${i}` },
				}),
			);
			assertSameAsProtobufEs(bytes);
		}
	});

	test("a string that is not UTF-8 and a field cut short are refused, as protobuf-es refuses them", () => {
		const notUtf8 = Uint8Array.of(0x0a, 2, 0xc3, 0x28);
		assert.throws(() => fromBinary(LogChunkSchema, notUtf8));
		assert.throws(() => readLogChunk(notUtf8), ChunkDecodeError);
		const whole = toBinary(LogChunkSchema, create(LogChunkSchema, samples[1]));
		const cut = whole.subarray(0, whole.byteLength - 2);
		assert.throws(() => fromBinary(LogChunkSchema, cut));
		assert.throws(() => readLogChunk(cut), /premature end/);
	});

	test("data is a view of the received bytes, not a copy", () => {
		const bytes = toBinary(LogChunkSchema, create(LogChunkSchema, samples[1]));
		assert.equal(readLogChunk(bytes).data.buffer, bytes.buffer);
	});
});
