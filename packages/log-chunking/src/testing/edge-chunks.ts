import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Compression, type LogChunkSchema, LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";

/**
 * LogChunks at the edges of the wire format, for the tests that compare the
 * hand-written encoder and decoder with protobuf-es: empty, plain, every field at
 * its largest or oddest (multi-byte text, 2^32−1, 2^64−1, a time before 1970,
 * numeric map keys), open enums with values the contract does not name, a header
 * with empty submessages. Index 1 is a plain chunk and index 2 the one with every
 * field set; tests name them so.
 */
export function edgeCaseChunks(): MessageInitShape<typeof LogChunkSchema>[] {
	return [
		{},
		{ messageId: "m", runId: "r", environmentId: "e", data: Buffer.from("hello") },
		{
			messageId: "žluťoučký kůň 🐎",
			runId: "run_1",
			environmentId: "env",
			sequence: 4_294_967_295,
			last: true,
			compression: Compression.BROTLI,
			data: randomBytes(70_000),
			header: {
				level: LogLevel.ERROR,
				time: { seconds: -62_135_596_800n, nanos: 999_999_999 },
				attributes: { "": "", a: "1", "10": "numeric keys first", ключ: "значение", long: "x".repeat(300) },
				bodySize: 18_446_744_073_709_551_615n,
				chunkCount: 16_384,
				taskId: "task",
				attemptId: "attempt",
				traceId: "0af7651916cd43dd8448eb211c80319c",
			},
		},
		// Open enums keep values the contract does not name, negative ones included.
		{
			messageId: "m",
			compression: -1 as Compression,
			header: { level: -7 as LogLevel, time: { nanos: -1 } },
		},
		{
			messageId: "m",
			compression: -1 as Compression,
			header: { level: -7 as LogLevel, time: { seconds: 1n } },
		},
		{ messageId: "a".repeat(64), runId: "b".repeat(65), header: { level: LogLevel.INFO } },
		{ header: {} },
		{ header: { time: {} } },
	];
}
