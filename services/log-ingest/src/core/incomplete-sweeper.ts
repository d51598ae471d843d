import type pg from "pg";
import type { Logger } from "pino";
import type { Clock } from "./frame-writer.js";
import { claimRunCursors, notifyRuns } from "./run-queries.js";
import { MessageState } from "./types.js";

const BATCH = 500;

/**
 * Marks messages whose chunks stopped arriving as incomplete once they have been
 * quiet for incompleteAfterMs, giving each a cursor so Query and Tail show it,
 * flagged, instead of it vanishing. Replicas may sweep at once: the update
 * re-checks the state, so a message is marked once.
 */
export class IncompleteSweeper {
	private readonly pool: pg.Pool;
	private readonly clock: Clock;
	private readonly logger: Logger;
	private readonly incompleteAfterMs: number;
	private readonly channel: string;
	private timer: NodeJS.Timeout | undefined;
	private running: Promise<unknown> | undefined;

	constructor(options: {
		pool: pg.Pool;
		clock: Clock;
		logger: Logger;
		incompleteAfterMs: number;
		channel: string;
	}) {
		this.pool = options.pool;
		this.clock = options.clock;
		this.logger = options.logger;
		this.incompleteAfterMs = options.incompleteAfterMs;
		this.channel = options.channel;
	}

	/** Sweeps every intervalMs until stop(). */
	start(intervalMs: number): void {
		this.timer = setInterval(() => {
			if (this.running !== undefined) return;
			this.running = this.sweep()
				.catch((error: unknown) => this.logger.warn({ err: error }, "incomplete sweep failed"))
				.finally(() => {
					this.running = undefined;
				});
		}, intervalMs);
		this.timer.unref();
	}

	/** Stops sweeping and waits for a sweep in progress. */
	async stop(): Promise<void> {
		clearInterval(this.timer);
		await this.running;
	}

	/** Marks every message quiet for too long as incomplete; returns how many. */
	async sweep(): Promise<number> {
		let total = 0;
		for (;;) {
			const marked = await this.sweepBatch();
			total += marked;
			if (marked < BATCH) return total;
		}
	}

	private async sweepBatch(): Promise<number> {
		const cutoff = this.clock.now() - this.incompleteAfterMs;
		const candidates = await this.pool.query<{ id: string; environment_id: string; run_id: string }>(
			`SELECT id, environment_id, run_id FROM log_messages
			 WHERE state = $1 AND last_chunk_at_ms < $2 ORDER BY last_chunk_at_ms LIMIT $3`,
			[MessageState.RECEIVING, cutoff, BATCH],
		);
		if (candidates.rows.length === 0) return 0;
		const byRun = new Map<string, { environmentId: string; runId: string; ids: string[] }>();
		for (const row of candidates.rows) {
			const key = `${row.environment_id}\u0000${row.run_id}`;
			const entry = byRun.get(key) ?? { environmentId: row.environment_id, runId: row.run_id, ids: [] };
			entry.ids.push(row.id);
			byRun.set(key, entry);
		}
		const runs = [...byRun.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
		const client = await this.pool.connect();
		try {
			await client.query("BEGIN");
			// Runs before messages: the order ingest frames lock them in.
			const last = await claimRunCursors(
				client,
				runs.map((r) => ({ environmentId: r.environmentId, runId: r.runId, count: r.ids.length })),
			);
			const ids: string[] = [];
			const seqs: string[] = [];
			for (const run of runs) {
				let next = (last.get(`${run.environmentId}\u0000${run.runId}`) ?? 0n) - BigInt(run.ids.length);
				for (const id of run.ids) {
					next += 1n;
					ids.push(id);
					seqs.push(next.toString());
				}
			}
			const updated = await client.query(
				`UPDATE log_messages m SET state = $3, run_seq = u.seq
				 FROM unnest($1::bigint[], $2::bigint[]) AS u(id, seq)
				 WHERE m.id = u.id AND m.state = $4 AND m.last_chunk_at_ms < $5`,
				[ids, seqs, MessageState.INCOMPLETE, MessageState.RECEIVING, cutoff],
			);
			await notifyRuns(
				client,
				this.channel,
				runs.map((r) => JSON.stringify([r.environmentId, r.runId, ""])),
			);
			await client.query("COMMIT");
			if ((updated.rowCount ?? 0) > 0) {
				this.logger.info({ marked: updated.rowCount }, "messages marked incomplete");
			}
			return candidates.rows.length === BATCH ? BATCH : (updated.rowCount ?? 0);
		} catch (error) {
			await client.query("ROLLBACK").catch(() => {});
			throw error;
		} finally {
			client.release();
		}
	}
}
