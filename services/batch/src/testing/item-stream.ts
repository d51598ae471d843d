import type { MessageInitShape } from "@bufbuild/protobuf";
import type { StreamBatchItemsRequestSchema } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";

type Message = MessageInitShape<typeof StreamBatchItemsRequestSchema>;

/** A client stream a test feeds message by message, ending it when it chooses. */
export class ItemStream implements AsyncIterable<Message> {
	readonly #queue: Message[] = [];
	#wake: (() => void) | undefined;
	#ended = false;

	/** Queues a message. */
	push(message: Message): void {
		this.#queue.push(message);
		this.#wake?.();
	}

	/** Ends the stream after the queued messages. */
	end(): void {
		this.#ended = true;
		this.#wake?.();
	}

	async *[Symbol.asyncIterator](): AsyncIterator<Message> {
		while (true) {
			const next = this.#queue.shift();
			if (next !== undefined) {
				yield next;
				continue;
			}
			if (this.#ended) return;
			await new Promise<void>((resolve) => {
				this.#wake = resolve;
			});
			this.#wake = undefined;
		}
	}
}

/** The header message of a stream. */
export function header(environmentId: string, batchId: string): Message {
	return { kind: { case: "header", value: { environmentId, batchId } } };
}

/** A chunk of items `from` .. `to - 1` of a task, each with {i} as its payload. */
export function chunk(taskId: string, from: number, to: number): Message {
	const items = [];
	for (let i = from; i < to; i++) {
		items.push({ index: i, item: { taskId, payload: new TextEncoder().encode(JSON.stringify({ i })) } });
	}
	return { kind: { case: "chunk", value: { items } } };
}

/** Polls until `check` returns a value (no timing is asserted; state is). */
export async function eventually<T>(
	check: () => Promise<T | undefined>,
	what: string,
	tries = 400,
): Promise<T> {
	for (let i = 0; i < tries; i++) {
		const value = await check();
		if (value !== undefined) return value;
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
	throw new Error(`never happened: ${what}`);
}
