/**
 * The inflate thread's entry point (see inflate-thread.ts): checks a frame's
 * compressed chunks by inflating each, and answers with each one's decompressed
 * size, the head of those that asked for it, or why it was refused. The
 * decompressed bytes themselves are dropped here, so only sizes and heads cross back.
 */
import { parentPort } from "node:worker_threads";
import { ChunkError, decodeChunkInPlace } from "../../../../packages/log-chunking/src/index.js";
import type { InflateReply, InflateRequest } from "./inflate-messages.js";

const port = parentPort;
if (port === null) throw new Error("inflate-worker.ts runs only as a worker thread");

port.on("message", (request: InflateRequest) => {
	const count = request.entries.length / 4;
	const reply: InflateReply = {
		id: request.id,
		rawSizes: new Int32Array(count),
		heads: new Array(count).fill(null),
		errors: new Array(count).fill(null),
	};
	const bytes = new Uint8Array(request.buffer);
	for (let i = 0; i < count; i++) {
		const offset = request.entries[i * 4] as number;
		const length = request.entries[i * 4 + 1] as number;
		const compression = request.entries[i * 4 + 2] as number;
		const wantsHead = request.entries[i * 4 + 3] === 1;
		try {
			const raw = decodeChunkInPlace(compression, bytes.subarray(offset, offset + length), request.maxBytes);
			reply.rawSizes[i] = raw.byteLength;
			if (wantsHead) reply.heads[i] = raw.slice(0, request.headBytes);
		} catch (error) {
			if (!(error instanceof ChunkError)) throw error;
			reply.errors[i] = {
				kind: error.kind,
				field: error.field,
				message: error.message.slice(error.field.length + 2),
			};
		}
	}
	port.postMessage(reply);
});
