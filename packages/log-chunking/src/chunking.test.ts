import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import zlib from "node:zlib";
import { Compression, type LogChunk, LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { ChunkError } from "./chunk-error.js";
import { chunkCountOf, chunkLogMessage, type OutgoingLogMessage } from "./chunker.js";
import { decodeChunk, encodeChunk } from "./codec.js";
import { DEFAULT_CHUNK_LIMITS, placeChunk } from "./placement.js";
import { decodeInOrder, Reassembler } from "./reassembler.js";

function message(body: Uint8Array, id = "m1"): OutgoingLogMessage {
	return {
		messageId: id,
		runId: "run_1",
		environmentId: "env_1",
		header: { level: LogLevel.INFO, attributes: { k: "v" } },
		body,
	};
}

async function reassemble(chunks: LogChunk[]): Promise<Uint8Array> {
	const reassembler = new Reassembler();
	for (const chunk of chunks) {
		const outcome = await reassembler.add(chunk);
		if (outcome.status === "complete") return outcome.message.body;
	}
	throw new Error("never completed");
}

function shuffled<T>(items: T[]): T[] {
	const out = [...items];
	for (let i = out.length - 1; i > 0; i--) {
		const j = (i * 7919 + 13) % (i + 1);
		[out[i], out[j]] = [out[j] as T, out[i] as T];
	}
	return out;
}

describe("chunker", () => {
	test("a body under the chunk size travels as one chunk carrying the header", () => {
		const chunks = [...chunkLogMessage(message(Buffer.from("hello")))];
		assert.equal(chunks.length, 1);
		assert.equal(chunks[0]?.last, true);
		assert.equal(chunks[0]?.header?.bodySize, 5n);
		assert.equal(chunks[0]?.header?.chunkCount, 1);
		assert.equal(chunks[0]?.header?.attributes.k, "v");
	});

	test("a large body is cut into numbered chunks with only the last marked last", () => {
		const chunks = [...chunkLogMessage(message(randomBytes(200_000)), { chunkBytes: 64 * 1024 })];
		assert.deepEqual(
			chunks.map((c) => c.sequence),
			[0, 1, 2, 3],
		);
		assert.deepEqual(
			chunks.map((c) => c.last),
			[false, false, false, true],
		);
		assert.equal(chunks.filter((c) => c.header !== undefined).length, 1);
		assert.equal(chunkCountOf(0), 1);
	});

	test("compressible chunks are compressed and random ones are sent raw", () => {
		const text = Buffer.from("a log line that repeats itself\n".repeat(4000));
		assert.equal(encodeChunk(text).compression, Compression.BROTLI);
		assert.equal(
			encodeChunk(text, { choice: "gzip", minBytes: 1, maxRatio: 0.9 }).compression,
			Compression.GZIP,
		);
		assert.equal(encodeChunk(randomBytes(10_000)).compression, Compression.NONE);
		assert.equal(encodeChunk(Buffer.from("tiny")).compression, Compression.NONE);
	});

	test("a body over the cap is refused before anything is sent", () => {
		assert.throws(
			() => [...chunkLogMessage(message(Buffer.alloc(11)), { maxMessageBytes: 10 })],
			/over the limit of 10/,
		);
	});
});

describe("reassembler", () => {
	test("chunks shuffled and duplicated join back byte-exact", async () => {
		const body = Buffer.concat([randomBytes(150_000), Buffer.from("text ".repeat(50_000))]);
		const chunks = [...chunkLogMessage(message(body), { chunkBytes: 16 * 1024 })];
		const noisy = shuffled([...chunks, ...chunks.slice(2, 5)]);
		assert.ok(Buffer.from(await reassemble(noisy)).equals(body));
	});

	test("a duplicate chunk is reported as such and not counted twice", async () => {
		const chunks = [...chunkLogMessage(message(randomBytes(40_000)), { chunkBytes: 16 * 1024 })];
		const reassembler = new Reassembler();
		assert.equal((await reassembler.add(chunks[1] as LogChunk)).status, "added");
		assert.equal((await reassembler.add(chunks[1] as LogChunk)).status, "duplicate");
		assert.deepEqual(reassembler.incomplete()[0]?.missing, undefined);
		await reassembler.add(chunks[2] as LogChunk);
		assert.deepEqual(reassembler.incomplete()[0]?.missing, [0]);
		assert.equal((await reassembler.add(chunks[0] as LogChunk)).status, "complete");
		assert.equal((await reassembler.add(chunks[0] as LogChunk)).status, "duplicate");
	});

	test("a message missing a chunk is never handed out", async () => {
		const chunks = [...chunkLogMessage(message(randomBytes(50_000)), { chunkBytes: 10_000 })];
		const reassembler = new Reassembler();
		for (const chunk of chunks.filter((c) => c.sequence !== 3)) {
			assert.notEqual((await reassembler.add(chunk)).status, "complete");
		}
		assert.deepEqual(reassembler.incomplete()[0]?.missing, [3]);
	});

	test("corrupt compressed data is refused as corrupt", async () => {
		const [chunk] = [...chunkLogMessage(message(Buffer.from("x".repeat(5000))))];
		assert.ok(chunk);
		chunk.data = chunk.data.subarray(0, chunk.data.byteLength - 3);
		await assert.rejects(
			new Reassembler().add(chunk),
			(e: unknown) => e instanceof ChunkError && e.kind === "corrupt-data",
		);
	});

	test("a chunk that inflates past the chunk cap is refused without inflating it all", async () => {
		const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024));
		await assert.rejects(
			decodeChunk(Compression.GZIP, bomb, 1024 * 1024),
			(e: unknown) => e instanceof ChunkError && e.kind === "too-large" && /1048576/.test(e.message),
		);
	});

	test("an unknown compression is refused by name", async () => {
		await assert.rejects(decodeChunk(9 as Compression, Buffer.from("x"), 10), /9 is not a known compression/);
	});

	test("a sequence past the cap, a conflicting last flag and a header off chunk 0 are refused", () => {
		const limits = { ...DEFAULT_CHUNK_LIMITS, maxChunks: 8 };
		assert.throws(() => placeChunk({ sequence: 8, last: false }, 0, limits), /past the limit of 8 chunks/);
		assert.equal(placeChunk({ sequence: 3, last: true }, 0, limits), 4);
		assert.throws(() => placeChunk({ sequence: 5, last: true }, 4, limits), /implies 6 chunks/);
		assert.throws(() => placeChunk({ sequence: 4, last: false }, 4, limits), /past the message's last chunk/);
		assert.throws(
			() => placeChunk({ sequence: 1, last: false, header: { chunkCount: 2, bodySize: 1n } }, 0, limits),
			/only sequence 0/,
		);
	});

	test("a message whose chunks join to another size than declared is refused", async () => {
		const chunks = [...chunkLogMessage(message(Buffer.from("abcdef")))];
		const chunk = chunks[0] as LogChunk;
		if (chunk.header) chunk.header.bodySize = 7n;
		await assert.rejects(new Reassembler().add(chunk), /declares 7 bytes but the chunks join to 6 bytes/);
	});

	test("decodeInOrder streams stored chunks and notices a gap", async () => {
		const body = randomBytes(30_000);
		const chunks = [...chunkLogMessage(message(body), { chunkBytes: 10_000 })];
		async function* stored(list: LogChunk[]) {
			yield* list;
		}
		const parts: Uint8Array[] = [];
		for await (const part of decodeInOrder(stored(chunks), { chunkCount: 3 })) parts.push(part);
		assert.ok(Buffer.concat(parts).equals(body));
		await assert.rejects(async () => {
			for await (const _ of decodeInOrder(stored([chunks[0], chunks[2]] as LogChunk[]), { chunkCount: 3 })) {
			}
		}, /chunk 1 is missing/);
	});
});
