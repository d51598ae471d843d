import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import pino from "pino";
import { Compression } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { ChunkError } from "../../../../packages/log-chunking/src/index.js";
import { type BudgetState, messageBudget } from "./inflate-budget.js";
import { type InflateOutcome, InflateThread } from "./inflate-thread.js";

const text = Buffer.from("a log line that repeats\n".repeat(2_000));
const chunks = [
	{ compression: Compression.BROTLI, data: zlib.brotliCompressSync(text), wantsHead: true },
	{ compression: Compression.GZIP, data: zlib.gzipSync(text), wantsHead: false },
	// Cut short: corrupt.
	{ compression: Compression.BROTLI, data: zlib.brotliCompressSync(text).subarray(0, 12), wantsHead: false },
	// Inflates past the 40,000-byte limit asked for below.
	{ compression: Compression.GZIP, data: zlib.gzipSync(Buffer.alloc(100_000)), wantsHead: true },
	// A view into a larger buffer: only its own bytes may be sent.
	{
		compression: Compression.GZIP,
		data: Buffer.concat([Buffer.alloc(7), zlib.gzipSync(text)]).subarray(7),
		wantsHead: true,
	},
];

// Each chunk its own message, with budgets far past what they inflate to: only the chunk cap binds.
const items = chunks.map((chunk, message) => ({ ...chunk, message }));
const budget = (): BudgetState => ({
	maxChunkBytes: 60_000,
	frameBytes: 1 << 30,
	frameLeft: 1 << 30,
	messages: items.map(() => messageBudget(undefined, 1 << 30)),
});

function shapeOf(outcomes: InflateOutcome[]) {
	return outcomes.map((o) =>
		"error" in o
			? [o.error instanceof ChunkError, o.error.kind, o.error.message]
			: [o.rawSize, o.head === undefined ? null : Buffer.from(o.head).toString()],
	);
}

test("the inflate thread answers sizes, heads and refusals in order, as the main thread would", async () => {
	const thread = new InflateThread(pino({ level: "silent" }));
	const onThread = shapeOf(await thread.inflate(items, budget(), 10));
	assert.deepEqual(onThread, [
		[text.byteLength, "a log line"],
		[text.byteLength, null],
		[true, "corrupt-data", onThread[2]?.[2]],
		[true, "too-large", "data: at least 60001 bytes decompressed is over the limit of 60000 bytes per chunk"],
		[text.byteLength, "a log line"],
	]);
	assert.match(String(onThread[2]?.[2]), /^data: is not valid brotli data/);
	// Once the thread is gone, the same chunks are inflated on the calling thread alike.
	await thread.close();
	assert.deepEqual(shapeOf(await thread.inflate(items, budget(), 10)), onThread);
});
