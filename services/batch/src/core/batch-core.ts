import { ServiceError } from "../../../kit/src/index.js";
import type { BatchContext } from "./batch-context.js";
import { BatchCreator, type NewBatch } from "./batch-creator.js";
import { failBatch, findBatch, itemsFrom } from "./batch-queries.js";
import { itemFromRow } from "./batch-rows.js";
import { BatchSweeper } from "./batch-sweeper.js";
import { BatchCompletionTracker } from "./completion-tracker.js";
import { IngestionSession, refuseClosed } from "./ingestion-session.js";
import type { BatchRecord, ChildState, ItemRecord, ItemToCreate, RejectedItem } from "./types.js";
import { WaitResolver } from "./wait-resolver.js";

/** Outputs and errors one ListBatchItems page carries at most (8 MiB of a 16 MiB message). */
const LIST_PAGE_BUDGET_BYTES = 8 * 1024 * 1024;

/** A batch as a call returns it, with whether a key returned an earlier one. */
export interface BatchOutcome {
	batch: BatchRecord;
	cached: boolean;
	rejected: RejectedItem[];
}

/** An item with its child's state as the scheduler reports it now. */
export interface ItemWithChild {
	item: ItemRecord;
	child: ChildState;
}

/**
 * The batch service's core: creates batches, ingests their items, tracks their
 * children's outcomes and resumes waiting parents. Background work (the feed
 * reader and the sweeper) starts with start() and stops with close().
 */
export class BatchCore {
	readonly #ctx: BatchContext;
	readonly #creator: BatchCreator;
	readonly #resolver: WaitResolver;
	readonly tracker: BatchCompletionTracker;
	readonly sweeper: BatchSweeper;

	constructor(ctx: BatchContext, options: { sweepIntervalMs: number }) {
		this.#ctx = ctx;
		this.#creator = new BatchCreator(ctx);
		this.#resolver = new WaitResolver(ctx);
		this.tracker = new BatchCompletionTracker(ctx, this.#resolver, { retryMs: options.sweepIntervalMs });
		this.sweeper = new BatchSweeper(ctx, this.#resolver, { intervalMs: options.sweepIntervalMs });
	}

	/** Starts the feed reader and the sweeper. */
	start(): void {
		this.tracker.start();
		this.sweeper.start();
	}

	/** Stops background work. */
	async close(): Promise<void> {
		await Promise.all([this.tracker.close(), this.sweeper.close()]);
	}

	/**
	 * Creates a batch; with inline items, creates their children too. Inline
	 * items are the whole batch, so when any is refused the batch FAILS at once
	 * (with the reason) and the children made for the others are canceled.
	 * A live key returns the first batch; the retry's items are created only when
	 * they are the very items that batch was made with (its first call died half-way).
	 */
	async createBatch(input: NewBatch, inline: ItemToCreate[] | undefined): Promise<BatchOutcome> {
		const { batch, cached, sameInlineItems } = await this.#creator.create(input);
		if (inline === undefined || batch.status !== "PENDING") return { batch, cached, rejected: [] };
		// Other items under the same key are another request: they must never become the
		// first batch's children, seal it, or fail it.
		if (cached && !sameInlineItems) return { batch, cached, rejected: [] };
		const session = new IngestionSession(this.#ctx, this.#resolver, batch);
		await session.push(inline);
		const rejected = await session.finish();
		const after = await this.#mustFind(batch.environmentId, batch.id);
		if (rejected.length === 0 || after.sealed) return { batch: after, cached, rejected };
		const failed = await this.#failRejected(after, rejected);
		return { batch: failed ?? after, cached, rejected };
	}

	/** Starts taking streamed items for a PENDING batch. */
	async openIngestion(environmentId: string, batchId: string): Promise<IngestionSession | BatchRecord> {
		const batch = await this.#mustFind(environmentId, batchId);
		// A sealed or failed batch takes nothing; the caller answers with it as it is.
		if (batch.status !== "PENDING") return batch;
		return new IngestionSession(this.#ctx, this.#resolver, batch);
	}

	/** Refusals for items sent to a batch that takes no more (sealed or FAILED). */
	refuseItems(batch: BatchRecord, items: ItemToCreate[]): RejectedItem[] {
		return refuseClosed(batch, items);
	}

	/** One batch, or NOT_FOUND. */
	async getBatch(environmentId: string, batchId: string): Promise<BatchRecord> {
		return this.#mustFind(environmentId, batchId);
	}

	/** Items from `fromIndex` in index order, with each child's real state. */
	async listItems(
		environmentId: string,
		batchId: string,
		fromIndex: number,
		limit: number,
	): Promise<{ items: ItemWithChild[]; nextIndex: number | undefined }> {
		await this.#mustFind(environmentId, batchId);
		const rows = await itemsFrom(this.#ctx.pool, batchId, fromIndex, limit + 1);
		const page = rows.slice(0, limit).map(itemFromRow);
		const states = await this.#ctx.children.getChildren(
			environmentId,
			page.map((i) => i.runId),
		);
		// A page stops early when its children's outputs pass the budget, so an answer
		// stays well under the gRPC message limit whatever the outputs weigh; the next
		// page starts at the first item left out.
		let bytes = 0;
		let kept = 0;
		while (kept < page.length) {
			const child = states[kept] as ChildState;
			bytes +=
				child.output.byteLength + (child.error?.message.length ?? 0) + (child.error?.stackTrace.length ?? 0);
			if (bytes > LIST_PAGE_BUDGET_BYTES && kept > 0) break;
			kept++;
		}
		const next =
			kept < page.length ? page[kept]?.index : rows.length > limit ? rows[limit]?.item_index : undefined;
		return {
			items: page.slice(0, kept).map((item, i) => ({ item, child: states[i] as ChildState })),
			nextIndex: next,
		};
	}

	/** The batch now, then after every change, until it is final or the signal aborts. */
	async *watchBatch(environmentId: string, batchId: string, signal: AbortSignal, pollMs: number) {
		let last = "";
		while (!signal.aborted) {
			const batch = await this.#mustFind(environmentId, batchId);
			const shape = JSON.stringify([
				batch.status,
				batch.createdItemCount,
				batch.finalItemCount,
				batch.waitId,
			]);
			if (shape !== last) {
				last = shape;
				yield batch;
			}
			if (batch.status === "COMPLETED" || batch.status === "FAILED") return;
			await this.#ctx.watch.next(batchId, pollMs, signal);
		}
	}

	async #failRejected(batch: BatchRecord, rejected: RejectedItem[]): Promise<BatchRecord | undefined> {
		const { pool, clock, children, watch, logger } = this.#ctx;
		const shown = rejected
			.slice(0, 5)
			.map((r) => `items[${r.index}]: ${r.message}`)
			.join("; ");
		const more = rejected.length > 5 ? ` (and ${rejected.length - 5} more)` : "";
		const failed = await failBatch(pool, batch.id, {
			code: "BATCH_ITEMS_REJECTED",
			reason: `${rejected.length} of ${batch.expectedItemCount} items were refused: ${shown}${more}`,
			now: clock.now(),
		});
		if (failed === undefined) return undefined;
		watch.notify([batch.id]);
		this.#resolver.resolveSoon([failed]);
		// Children made for the accepted items belong to a batch that will never complete.
		const { rows } = await pool.query<{ run_id: string }>(
			"SELECT run_id FROM batch_items WHERE batch_id = $1 AND NOT cached AND NOT final",
			[batch.id],
		);
		for (const row of rows) {
			await children.cancel(batch.environmentId, row.run_id).catch((error: unknown) => {
				logger.warn({ err: error, runId: row.run_id }, "canceling a child of a refused batch failed");
			});
		}
		return failed;
	}

	async #mustFind(environmentId: string, batchId: string): Promise<BatchRecord> {
		const batch = await findBatch(this.#ctx.pool, environmentId, batchId);
		if (batch === undefined) throw ServiceError.notFound("batch", batchId);
		return batch;
	}
}
