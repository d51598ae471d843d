import { inTransaction } from "../../../kit/src/postgres/transaction.js";
import type { BatchContext } from "./batch-context.js";
import { recordItems } from "./item-recorder.js";
import type { BatchRecord, ItemToCreate, RejectedItem } from "./types.js";
import type { WaitResolver } from "./wait-resolver.js";

const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;

/**
 * Turns the items of one batch into child runs, chunk by chunk, as they arrive.
 * Items gather into chunks of up to chunkSize while every slot is busy, and a
 * chunk is cut into runs of consecutive indexes (the scheduler numbers a call's
 * runs from its first index); with the PARALLEL strategy up to
 * `parallelism` chunks are in flight at once, with SEQUENTIAL one. An index that
 * is already an item is skipped, so a stream sent again after a crash creates
 * no duplicate child (the scheduler is idempotent per batch and index as well).
 */
export class IngestionSession {
	readonly #ctx: BatchContext;
	readonly #resolver: WaitResolver;
	readonly #batch: BatchRecord;
	readonly #parallelism: number;
	readonly #inFlight = new Set<Promise<void>>();
	readonly #seen = new Set<number>();
	readonly #rejected: RejectedItem[] = [];
	#buffer: ItemToCreate[] = [];
	#failure: unknown;

	constructor(ctx: BatchContext, resolver: WaitResolver, batch: BatchRecord) {
		this.#ctx = ctx;
		this.#resolver = resolver;
		this.#batch = batch;
		this.#parallelism = batch.strategy === "SEQUENTIAL" ? 1 : ctx.limits.parallelism;
	}

	/** Adds items; waits only when enough chunks are in flight (back-pressure on the stream). */
	async push(items: ItemToCreate[]): Promise<void> {
		this.#throwIfFailed();
		for (const item of items) {
			if (item.index >= this.#batch.expectedItemCount) {
				this.#rejected.push(outOfRange(this.#batch, item));
			} else if (!this.#seen.has(item.index)) {
				// The first copy of an index wins; a repeat within the stream is ignored like one sent again later.
				this.#seen.add(item.index);
				this.#buffer.push(item);
			}
		}
		while (this.#buffer.length >= this.#ctx.limits.chunkSize) {
			await this.#dispatch(this.#buffer.splice(0, this.#ctx.limits.chunkSize));
		}
		// With a free slot a short chunk goes now (items exist as soon as they can);
		// while every slot is busy, items gather into full chunks instead.
		if (this.#buffer.length > 0 && this.#inFlight.size < this.#parallelism) {
			await this.#dispatch(this.#buffer.splice(0));
		}
	}

	/** Creates what is still buffered, waits for every chunk, and returns the refused items. */
	async finish(): Promise<RejectedItem[]> {
		if (this.#buffer.length > 0) await this.#dispatch(this.#buffer.splice(0));
		await Promise.all(this.#inFlight);
		this.#throwIfFailed();
		return this.#rejected.sort((a, b) => a.index - b.index);
	}

	async #dispatch(items: ItemToCreate[]): Promise<void> {
		while (this.#inFlight.size >= this.#parallelism) await Promise.race(this.#inFlight);
		this.#throwIfFailed();
		const job = this.#createChunk(items).catch((error: unknown) => {
			this.#failure ??= error;
		});
		const tracked = job.finally(() => this.#inFlight.delete(tracked));
		this.#inFlight.add(tracked);
	}

	async #createChunk(items: ItemToCreate[]): Promise<void> {
		const fresh = await this.#notYetItems(items);
		for (const run of consecutiveRuns(fresh)) await this.#createRun(run);
	}

	async #notYetItems(items: ItemToCreate[]): Promise<ItemToCreate[]> {
		let low = Number.POSITIVE_INFINITY;
		let high = Number.NEGATIVE_INFINITY;
		for (const { index } of items) {
			if (index < low) low = index;
			if (index > high) high = index;
		}
		// A chunk is mostly consecutive indexes: asking for its range sends two numbers
		// instead of an array of 1,000; a sparse chunk asks for its indexes one by one.
		const { rows } =
			high - low < 2 * items.length
				? await this.#ctx.pool.query<{ item_index: number }>(
						"SELECT item_index FROM batch_items WHERE batch_id = $1 AND item_index BETWEEN $2 AND $3",
						[this.#batch.id, low, high],
					)
				: await this.#ctx.pool.query<{ item_index: number }>(
						"SELECT item_index FROM batch_items WHERE batch_id = $1 AND item_index = ANY($2::int[])",
						[this.#batch.id, items.map((i) => i.index)],
					);
		const existing = new Set(rows.map((r) => r.item_index));
		return items.filter((i) => !existing.has(i.index)).sort((a, b) => a.index - b.index);
	}

	async #createRun(items: ItemToCreate[]): Promise<void> {
		const { children, pool, clock, watch } = this.#ctx;
		const first = items[0];
		if (first === undefined) return;
		const { created, rejected } = await children.triggerRuns({
			environmentId: this.#batch.environmentId,
			batchId: this.#batch.id,
			firstIndex: first.index,
			items,
			parentRunId: this.#batch.parentRunId,
			parentAttemptId: this.#batch.parentAttemptId,
		});
		this.#rejected.push(...rejected);
		if (created.length === 0) return;
		const taskOf = new Map(items.map((i) => [i.index, i.taskId]));
		const completed = await inTransaction(pool, (client) =>
			recordItems(client, {
				batchId: this.#batch.id,
				children: created.map((child) => ({ child, taskId: taskOf.get(child.index) ?? "" })),
				now: clock.now(),
			}),
		);
		watch.notify([this.#batch.id]);
		this.#resolver.resolveSoon(completed);
	}

	#throwIfFailed(): void {
		if (this.#failure !== undefined) throw this.#failure;
	}
}

/**
 * Refusals for items sent to a batch that takes no more: an index past the batch is
 * refused as it is while the batch is PENDING, whatever its state; a FAILED batch
 * refuses every other item; a sealed one has every other index already (skipped).
 */
export function refuseClosed(batch: BatchRecord, items: ItemToCreate[]): RejectedItem[] {
	const refusals: RejectedItem[] = [];
	for (const item of items) {
		if (item.index >= batch.expectedItemCount) refusals.push(outOfRange(batch, item));
		else if (batch.status === "FAILED") refusals.push(takesNoMore(batch, item));
	}
	return refusals;
}

function outOfRange(batch: BatchRecord, item: ItemToCreate): RejectedItem {
	return {
		index: item.index,
		code: INVALID_ARGUMENT,
		message: `index: ${item.index} is not below expected_item_count ${batch.expectedItemCount}`,
	};
}

function takesNoMore(batch: BatchRecord, item: ItemToCreate): RejectedItem {
	return {
		index: item.index,
		code: FAILED_PRECONDITION,
		message: `batch ${batch.id} is ${batch.status} (${batch.failureReason}); it takes no more items`,
	};
}

/** Splits items sorted by index into runs of consecutive indexes. */
export function consecutiveRuns(items: ItemToCreate[]): ItemToCreate[][] {
	const runs: ItemToCreate[][] = [];
	let current: ItemToCreate[] = [];
	for (const item of items) {
		const last = current[current.length - 1];
		if (last !== undefined && item.index !== last.index + 1) {
			runs.push(current);
			current = [];
		}
		current.push(item);
	}
	if (current.length > 0) runs.push(current);
	return runs;
}
