import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import { ChunkError } from "../../../../packages/log-chunking/src/index.js";
import {
	type BudgetedChunk,
	type BudgetState,
	InflateBudget,
	type InflateOutcome,
} from "./inflate-budget.js";
import { ENTRY_INTS, type InflateReply, type InflateRequest } from "./inflate-messages.js";

// The services run their TypeScript through tsx, whose loader a worker thread does
// not inherit: the thread registers it, then loads its entry point.
const WORKER_URL = new URL("./inflate-worker.ts", import.meta.url).href;
const WORKER_BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
require("tsx/esm/api").register();
import(workerData).catch((error) => { throw error; });
`;

export type { InflateOutcome } from "./inflate-budget.js";

/**
 * Inflates compressed chunks on a thread of their own, a frame at a time, to check
 * them and learn their sizes. Measured on log ingest's large bodies, inflation was
 * about half the service's main-thread work while PostgreSQL and the senders left
 * the other core half idle; on this thread it runs beside the main thread's gRPC
 * reads and COPY writes. A frame's chunks cross in one transferred buffer and come
 * back as sizes and heads, never as decompressed bodies. If the thread ever fails,
 * chunks are inflated on the main thread as before (logged once).
 */
export class InflateThread {
	readonly #worker: Worker;
	readonly #logger: Logger;
	readonly #pending = new Map<
		number,
		{ resolve: (reply: InflateReply) => void; reject: (error: Error) => void }
	>();
	#nextId = 1;
	#failed: Error | undefined;

	constructor(logger: Logger) {
		this.#logger = logger;
		this.#worker = new Worker(WORKER_BOOTSTRAP, { eval: true, workerData: WORKER_URL });
		// The thread never keeps the process alive on its own: frames waiting on it
		// belong to calls, which do.
		this.#worker.unref();
		this.#worker.on("message", (reply: InflateReply) => {
			const waiter = this.#pending.get(reply.id);
			this.#pending.delete(reply.id);
			waiter?.resolve(reply);
		});
		const fail = (error: Error) => {
			if (this.#failed !== undefined) return;
			this.#failed = error;
			this.#logger.error({ err: error }, "the inflate thread failed; chunks are inflated on the main thread");
			for (const waiter of this.#pending.values()) waiter.reject(error);
			this.#pending.clear();
		};
		this.#worker.on("error", fail);
		this.#worker.on("exit", (code) => fail(new Error(`the inflate thread exited with code ${code}`)));
	}

	/** Checks every item in order, spending the frame's budget; the outcomes come in the items' order. */
	async inflate(items: BudgetedChunk[], budget: BudgetState, headBytes: number): Promise<InflateOutcome[]> {
		if (this.#failed === undefined) {
			try {
				return outcomesOf(await this.#send(items, budget, headBytes));
			} catch (error) {
				if (this.#failed === undefined) throw error;
			}
		}
		// The budget was only copied to the thread, so it is still whole here.
		const here = new InflateBudget(budget);
		return items.map((item) => here.decode(item, headBytes));
	}

	/** Stops the thread. */
	async close(): Promise<void> {
		this.#failed ??= new Error("the inflate thread is closed");
		await this.#worker.terminate();
	}

	#send(items: BudgetedChunk[], budget: BudgetState, headBytes: number): Promise<InflateReply> {
		let total = 0;
		for (const item of items) total += item.data.byteLength;
		// One buffer of the chunks' bytes, transferred: posting the views themselves
		// would copy each one's whole underlying frame.
		const packed = new Uint8Array(total);
		const entries = new Int32Array(items.length * ENTRY_INTS);
		let offset = 0;
		items.forEach((item, i) => {
			packed.set(item.data, offset);
			const at = i * ENTRY_INTS;
			entries[at] = offset;
			entries[at + 1] = item.data.byteLength;
			entries[at + 2] = item.compression;
			entries[at + 3] = item.wantsHead ? 1 : 0;
			entries[at + 4] = item.message;
			offset += item.data.byteLength;
		});
		const id = this.#nextId++;
		const request: InflateRequest = { id, buffer: packed.buffer, entries, budget, headBytes };
		return new Promise((resolve, reject) => {
			this.#pending.set(id, { resolve, reject });
			this.#worker.postMessage(request, [packed.buffer, entries.buffer]);
		});
	}
}

function outcomesOf(reply: InflateReply): InflateOutcome[] {
	return Array.from(reply.rawSizes, (rawSize, i) => {
		const refusal = reply.errors[i];
		if (refusal != null) return { error: new ChunkError(refusal.kind, refusal.field, refusal.message) };
		return { rawSize, head: reply.heads[i] ?? undefined };
	});
}
