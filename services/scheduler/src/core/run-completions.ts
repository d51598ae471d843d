import type { RunStatus } from "./run-types.js";
import { sleepOrWake } from "./run-watch.js";
import type { SchedulerContext } from "./scheduler-context.js";

/** One final outcome in the batch completions feed. */
export interface RunCompletionRecord {
	cursor: bigint;
	runId: string;
	environmentId: string;
	batchId: string;
	batchIndex: number;
	status: RunStatus;
	completedAt: Date;
}

/** The id the feed's followers subscribe to. */
export const COMPLETIONS_TOPIC = "run-completions";

/**
 * The outbox of final outcomes of batch runs. Rows are written in the transaction
 * that makes a run final, so none is lost; readers page by cursor.
 */
export class RunCompletionFeed {
	constructor(private readonly ctx: SchedulerContext) {}

	/** Up to `limit` outcomes after the cursor, in cursor order. */
	async page(afterCursor: bigint, batchId: string, limit: number): Promise<RunCompletionRecord[]> {
		const { rows } = await this.ctx.pool.query<{
			cursor: string;
			run_id: string;
			environment_id: string;
			batch_id: string;
			batch_index: number;
			status: RunStatus;
			completed_at: Date;
		}>(
			`SELECT * FROM run_completions WHERE cursor > $1 AND ($2 = '' OR batch_id = $2) ORDER BY cursor LIMIT $3`,
			[afterCursor.toString(), batchId, limit],
		);
		return rows.map((r) => ({
			cursor: BigInt(r.cursor),
			runId: r.run_id,
			environmentId: r.environment_id,
			batchId: r.batch_id,
			batchIndex: r.batch_index,
			status: r.status,
			completedAt: r.completed_at,
		}));
	}

	/**
	 * Yields pages of outcomes after the cursor forever (until the signal aborts).
	 * A cursor is assigned at insert, so a transaction that commits late can show a
	 * smaller cursor than one already read; the follower therefore re-reads a short
	 * window behind its position and skips cursors it has yielded.
	 */
	async *follow(
		afterCursor: bigint,
		batchId: string,
		pollMs: number,
		signal: AbortSignal,
	): AsyncGenerator<RunCompletionRecord[]> {
		let cursor = afterCursor;
		const seen = new Set<bigint>();
		while (!signal.aborted) {
			const window = cursor > afterCursor + 1000n ? cursor - 1000n : afterCursor;
			const fresh = (await this.page(window, batchId, 2000)).filter((r) => !seen.has(r.cursor));
			if (fresh.length > 0) {
				for (const r of fresh) seen.add(r.cursor);
				for (const c of seen) if (c < cursor - 1000n) seen.delete(c);
				cursor = fresh.reduce((m, r) => (r.cursor > m ? r.cursor : m), cursor);
				yield fresh;
				continue;
			}
			await sleepOrWake(this.ctx.watch, COMPLETIONS_TOPIC, pollMs, signal);
		}
	}
}
