import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { IngestRequestSchema, LogChunkSchema, LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage } from "./chunker.js";
import { encodeLogChunkDelimited, ingestRequestOf } from "./frame-encoding.js";
import { edgeCaseChunks } from "./testing/edge-chunks.js";

const samples = edgeCaseChunks();

/** The bytes protobuf-es writes for one chunk as IngestRequest.chunks carries it (length first). */
function delimited(sample: MessageInitShape<typeof LogChunkSchema>): Uint8Array {
	const request = toBinary(IngestRequestSchema, create(IngestRequestSchema, { chunks: [sample] }));
	return request.subarray(1); // past the field's tag
}

describe("frame encoding", () => {
	test("a chunk's bytes equal protobuf-es's, field by field", () => {
		for (const sample of samples) {
			assert.deepEqual(
				[...encodeLogChunkDelimited(create(LogChunkSchema, sample))],
				[...delimited(sample)],
				JSON.stringify(sample, (_, v) => (typeof v === "bigint" ? String(v) : v)).slice(0, 200),
			);
		}
	});

	test("a frame of encoded chunks is the IngestRequest protobuf-es writes and reads back", () => {
		const chunks = [
			...chunkLogMessage({
				messageId: "doc",
				runId: "run_1",
				environmentId: "env",
				header: { level: LogLevel.INFO, attributes: { source: "test" } },
				body: Buffer.from("a line that repeats\n".repeat(10_000)),
			}),
			create(LogChunkSchema, samples[2]),
		];
		const bytes = toBinary(IngestRequestSchema, ingestRequestOf(chunks.map(encodeLogChunkDelimited)));
		assert.deepEqual(bytes, toBinary(IngestRequestSchema, create(IngestRequestSchema, { chunks })));
		const plain = (list: typeof chunks) => list.map((c) => ({ ...c, data: Uint8Array.from(c.data) }));
		assert.deepEqual(plain(fromBinary(IngestRequestSchema, bytes).chunks), plain(chunks));
	});
});
