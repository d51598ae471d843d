import { setTimeout as delay } from "node:timers/promises";
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
 * How far behind the newest outcome read a follower still waits for a late one: a
 * cursor is assigned at insert, so a transaction that commits late shows a smaller
 * cursor than outcomes already read.
 */
const LATE_WINDOW = 1000n;

/** Outcomes read per query at most. */
const PAGE_ROWS = 2000;

/**
 * A follower that has just yielded reads again after this pause at the soonest: a
 * busy feed is then read every few milliseconds in pages, where each outcome's
 * notification cost its own query, and the reader downstream its own transaction.
 */
const FOLLOW_GAP_MS = 10;

/**
 * The outbox of final outcomes of batch runs. Rows are written in the transaction
 * that makes a run final, so none is lost; readers page by cursor.
 */
export class RunCompletionFeed {
	constructor(private readonly ctx: SchedulerContext) {}

	/**
	 * Yields pages of outcomes after the cursor forever (until the signal aborts), each
	 * once. A late commit can only fill a cursor value the follower skipped, so it
	 * remembers the skipped values of the last LATE_WINDOW and asks for those again
	 * with the new ones: a query returns what is new, where re-reading the whole
	 * window returned up to a thousand known rows each time an outcome was recorded.
	 * Values skipped for good (a rollback, a duplicate insert, another batch's outcome
	 * under a batch filter) are dropped once they fall out of the window.
	 */
	async *follow(
		afterCursor: bigint,
		batchId: string,
		pollMs: number,
		signal: AbortSignal,
	): AsyncGenerator<RunCompletionRecord[]> {
		let newest = afterCursor;
		const skipped = new Set<bigint>();
		while (!signal.aborted) {
			const rows = await this.read(newest, [...skipped], batchId, PAGE_ROWS);
			if (rows.length === 0) {
				await sleepOrWake(this.ctx.watch, COMPLETIONS_TOPIC, pollMs, signal);
				continue;
			}
			// In cursor order: late rows (below newest) first, then new ones.
			for (const row of rows) {
				if (row.cursor <= newest) {
					skipped.delete(row.cursor);
					continue;
				}
				const from = row.cursor - LATE_WINDOW > newest ? row.cursor - LATE_WINDOW : newest + 1n;
				for (let value = from; value < row.cursor; value++) skipped.add(value);
				newest = row.cursor;
			}
			for (const value of skipped) if (value <= newest - LATE_WINDOW) skipped.delete(value);
			yield rows;
			if (rows.length < PAGE_ROWS) await delay(FOLLOW_GAP_MS, undefined, { signal }).catch(() => {});
		}
	}

	/** Outcomes after a cursor and at the given cursors, in cursor order. */
	private async read(
		afterCursor: bigint,
		cursors: bigint[],
		batchId: string,
		limit: number,
	): Promise<RunCompletionRecord[]> {
		const { rows } = await this.ctx.pool.query<{
			cursor: string;
			run_id: string;
			environment_id: string;
			batch_id: string;
			batch_index: number;
			status: RunStatus;
			completed_at: Date;
		}>(
			`SELECT * FROM run_completions
			 WHERE (cursor > $1 OR cursor = ANY($4::bigint[])) AND ($2 = '' OR batch_id = $2)
			 ORDER BY cursor LIMIT $3`,
			[afterCursor.toString(), batchId, limit, cursors.map(String)],
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
}
