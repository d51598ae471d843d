import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import zlib from "node:zlib";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
	Compression,
	type IngestRequest,
	IngestRequestSchema,
	type LogChunk,
	LogChunkSchema,
	LogLevel,
} from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { type LogIngestFixture, startLogIngest } from "../testing/log-ingest-fixture.js";

// Small caps keep the bombs cheap: 64 KiB per chunk, 1 MiB inflated per frame.
const CHUNK = 64 * 1024;
const FRAME_INFLATED = 1024 * 1024;

let f: LogIngestFixture;
const env = "env_inflate";
const time = timestampFromMs(Date.parse("2026-01-01T00:00:00Z"));
// A few dozen bytes that inflate to exactly the chunk cap.
const bomb = zlib.brotliCompressSync(Buffer.alloc(CHUNK, 0x61));

before(async () => {
	f = await startLogIngest({ maxChunkBytes: CHUNK, maxFrameInflatedBytes: FRAME_INFLATED });
});
after(async () => {
	await f.close();
});

function chunk(
	runId: string,
	messageId: string,
	sequence: number,
	data: Uint8Array,
	extra: {
		compression?: Compression;
		last?: boolean;
		header?: { chunkCount: number; bodySize: bigint };
	} = {},
): LogChunk {
	return create(LogChunkSchema, {
		messageId,
		runId,
		environmentId: env,
		sequence,
		data,
		compression: extra.compression ?? Compression.NONE,
		last: extra.last ?? false,
		header: extra.header === undefined ? undefined : { level: LogLevel.INFO, time, ...extra.header },
	});
}

async function* frames(...groups: LogChunk[][]): AsyncGenerator<IngestRequest> {
	for (const chunks of groups) yield create(IngestRequestSchema, { chunks });
}

describe("inflation limits", () => {
	test("a frame's compressed chunks inflate up to LOG_INGEST_MAX_FRAME_INFLATED_BYTES; messages past it are refused, the rest land", async () => {
		const run = "run_frame_budget";
		const whole = { chunkCount: 1, bodySize: BigInt(CHUNK) };
		const bombs = Array.from({ length: 40 }, (_, i) =>
			chunk(run, `b${i}`, 0, bomb, { compression: Compression.BROTLI, last: true, header: whole }),
		);
		const plain = chunk(run, "plain", 0, Buffer.from("a raw line"), {
			last: true,
			header: { chunkCount: 1, bodySize: 10n },
		});
		const summary = await f.client.ingest(frames([...bombs, plain], [bombs[39] as LogChunk]));
		// 16 × 64 KiB fill the 1 MiB budget; raw data is not inflated and does not spend it.
		assert.equal(summary.messagesAccepted, 17n);
		assert.equal(summary.rejected.length, 24);
		for (const r of summary.rejected) {
			assert.equal(r.code, Code.ResourceExhausted);
			assert.match(
				r.message,
				/past the limit of 1048576 bytes per frame \(LOG_INGEST_MAX_FRAME_INFLATED_BYTES\)/,
			);
		}
		assert.deepEqual(
			summary.rejected.map((r) => r.id),
			Array.from({ length: 24 }, (_, i) => `b${i + 16}`),
		);
		const page = await f.client.query({ environmentId: env, runId: run, pageSize: 100, maxBodyBytes: 1 });
		assert.equal(page.records.length, 17);
	});

	test("a message's chunks stop inflating once past its declared body_size, leaving the frame's budget to the rest", async () => {
		const run = "run_declared";
		// Declares 10 bytes in 50 chunks, each inflating to 64 KiB: 3.2 MiB, past the frame's budget.
		const liar = Array.from({ length: 50 }, (_, i) =>
			chunk(run, "liar", i, bomb, {
				compression: Compression.BROTLI,
				last: i === 49,
				header: i === 0 ? { chunkCount: 50, bodySize: 10n } : undefined,
			}),
		);
		const honest = chunk(run, "honest", 0, bomb, {
			compression: Compression.BROTLI,
			last: true,
			header: { chunkCount: 1, bodySize: BigInt(CHUNK) },
		});
		const summary = await f.client.ingest(frames([...liar, honest]));
		assert.equal(summary.messagesAccepted, 1n);
		assert.deepEqual(
			summary.rejected.map((r) => [r.id, r.code]),
			[["liar", Code.InvalidArgument]],
		);
		assert.match(
			summary.rejected[0]?.message ?? "",
			/^header\.body_size: declares 10 bytes but the chunks inflate to more; inflating stopped there/,
		);
		const page = await f.client.query({ environmentId: env, runId: run, maxBodyBytes: 1 });
		assert.deepEqual(
			page.records.map((r) => [r.messageId, r.bodySize]),
			[["honest", BigInt(CHUNK)]],
		);
	});

	test("a message without a declared size stops inflating at the message cap", async () => {
		const small = await startLogIngest({ maxChunkBytes: CHUNK, maxMessageBytes: 4 * CHUNK });
		try {
			const chunks = Array.from({ length: 10 }, (_, i) =>
				chunk("run_cap", "big", i, bomb, {
					compression: Compression.BROTLI,
					header: i === 0 ? { chunkCount: 0, bodySize: 0n } : undefined,
				}),
			);
			const summary = await small.client.ingest(frames(chunks));
			assert.equal(summary.rejected[0]?.code, Code.ResourceExhausted);
			assert.match(
				summary.rejected[0]?.message ?? "",
				/^data: the message's body inflates past the limit of 262144 bytes per message/,
			);
		} finally {
			await small.close();
		}
	});
});
