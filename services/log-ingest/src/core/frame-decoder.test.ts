import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import { Compression } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { DEFAULT_CHUNK_LIMITS } from "../../../../packages/log-chunking/src/index.js";
import { decodeFrame } from "./frame-decoder.js";
import { type BudgetedChunk, type BudgetState, InflateBudget } from "./inflate-budget.js";
import type { InflateThread } from "./inflate-thread.js";
import type { IncomingChunk, LogStoreSettings } from "./types.js";

const settings: LogStoreSettings = {
	limits: DEFAULT_CHUNK_LIMITS,
	maxFrameInflatedBytes: 64 * 1024 * 1024,
	inlineBodyBytes: 64 * 1024,
	channel: "unused",
};
const packed = zlib.brotliCompressSync(Buffer.alloc(64 * 1024, 0x61));

/** A thread that inflates where it is called, counting the frames it is given. */
function countingThread(): { thread: InflateThread; frames: number[] } {
	const frames: number[] = [];
	const thread = {
		async inflate(items: BudgetedChunk[], budget: BudgetState, headBytes: number) {
			frames.push(items.length);
			const here = new InflateBudget(budget);
			return items.map((item) => here.decode(item, headBytes));
		},
	};
	return { thread: thread as unknown as InflateThread, frames };
}

function frameOf(messages: number, declared: boolean): IncomingChunk[] {
	return Array.from({ length: messages }, (_, i) => ({
		messageId: `m${i}`,
		runId: "r",
		environmentId: "e",
		sequence: 0,
		last: true,
		compression: Compression.BROTLI,
		data: packed,
		index: i,
		header: {
			level: 3,
			loggedAtUs: undefined,
			attributes: {},
			bodySize: declared ? 64n * 1024n : 0n,
			chunkCount: declared ? 1 : 0,
			taskId: "",
			attemptId: "",
			traceId: "",
		},
	}));
}

test("a frame of few compressed bytes goes to the inflate thread when what it could inflate to is large", async () => {
	// 20 chunks of a few dozen bytes each: far under the compressed size that used to
	// pick the thread, but with no declared size each could inflate to 4 MiB.
	const { thread, frames } = countingThread();
	const groups = await decodeFrame(frameOf(20, false), settings, thread);
	assert.deepEqual(frames, [20]);
	assert.ok(groups.every((g) => g.error === undefined && g.chunks[0]?.rawSize === 64 * 1024));
	// Declared sizes bound the same kind of frame to 640 KiB: inflated in place.
	const small = countingThread();
	await decodeFrame(frameOf(10, true), settings, small.thread);
	assert.deepEqual(small.frames, []);
});
