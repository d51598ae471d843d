/**
 * The inflate thread's entry point (see inflate-thread.ts): checks a frame's
 * compressed chunks by inflating each, and answers with each one's decompressed
 * size, the head of those that asked for it, or why it was refused. The
 * decompressed bytes themselves are dropped here, so only sizes and heads cross back.
 */
import { parentPort } from "node:worker_threads";
import { InflateBudget } from "./inflate-budget.js";
import { ENTRY_INTS, type InflateReply, type InflateRequest } from "./inflate-messages.js";

const port = parentPort;
if (port === null) throw new Error("inflate-worker.ts runs only as a worker thread");

port.on("message", (request: InflateRequest) => {
	const count = request.entries.length / ENTRY_INTS;
	const budget = new InflateBudget(request.budget);
	const reply: InflateReply = {
		id: request.id,
		rawSizes: new Int32Array(count),
		heads: new Array(count).fill(null),
		errors: new Array(count).fill(null),
	};
	const bytes = new Uint8Array(request.buffer);
	for (let i = 0; i < count; i++) {
		const at = i * ENTRY_INTS;
		const offset = request.entries[at] as number;
		const length = request.entries[at + 1] as number;
		const outcome = budget.decode(
			{
				compression: request.entries[at + 2] as number,
				data: bytes.subarray(offset, offset + length),
				wantsHead: request.entries[at + 3] === 1,
				message: request.entries[at + 4] as number,
			},
			request.headBytes,
		);
		if ("error" in outcome) {
			const error = outcome.error;
			reply.errors[i] = {
				kind: error.kind,
				field: error.field,
				message: error.message.slice(error.field.length + 2),
			};
		} else {
			reply.rawSizes[i] = outcome.rawSize;
			// A copy: posting the view would send the whole decompressed chunk.
			if (outcome.head !== undefined) reply.heads[i] = Uint8Array.prototype.slice.call(outcome.head);
		}
	}
	port.postMessage(reply);
});
