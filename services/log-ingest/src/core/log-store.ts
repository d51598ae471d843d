import type pg from "pg";
import type { Logger } from "pino";
import { type Clock, FrameWriter } from "./frame-writer.js";
import { IncompleteSweeper } from "./incomplete-sweeper.js";
import { InflateThread } from "./inflate-thread.js";
import { IngestSession } from "./ingest-session.js";
import { type LogPage, type LogQuery, LogReader } from "./log-reader.js";
import { followRun, type TailTarget } from "./tail-follower.js";
import { TailNotifier } from "./tail-notifier.js";
import type { LogStoreSettings, StoredLogRecord } from "./types.js";

/** Everything LogStore needs. */
export interface LogStoreOptions {
	pool: pg.Pool;
	/** For the dedicated LISTEN connection. */
	databaseUrl: string;
	/** The service's schema; names the NOTIFY channel so schemas never wake each other. */
	schema: string;
	settings: Omit<LogStoreSettings, "channel">;
	clock: Clock;
	logger: Logger;
	incompleteAfterMs: number;
	/** Sweep period; 0 leaves sweeping to explicit sweep() calls (tests). */
	sweepIntervalMs: number;
	tailPollMs: number;
}

/**
 * The log-ingest core: ingest sessions, queries, tails, body reads and the sweeper
 * of incomplete messages, over one PostgreSQL pool and one LISTEN connection.
 */
export class LogStore {
	readonly reader: LogReader;
	readonly sweeper: IncompleteSweeper;
	private readonly writer: FrameWriter;
	private readonly pool: pg.Pool;
	private readonly notifier: TailNotifier;
	private readonly tailPollMs: number;
	private readonly inflateThread: InflateThread;

	private constructor(options: LogStoreOptions, notifier: TailNotifier, settings: LogStoreSettings) {
		this.pool = options.pool;
		this.notifier = notifier;
		this.tailPollMs = options.tailPollMs;
		this.inflateThread = new InflateThread(options.logger);
		this.writer = new FrameWriter({
			pool: options.pool,
			settings,
			clock: options.clock,
			logger: options.logger,
			inflateThread: this.inflateThread,
		});
		this.reader = new LogReader({ pool: options.pool, settings });
		this.sweeper = new IncompleteSweeper({
			pool: options.pool,
			clock: options.clock,
			logger: options.logger,
			incompleteAfterMs: options.incompleteAfterMs,
			channel: settings.channel,
		});
	}

	/** Starts the LISTEN connection and the sweeper. */
	static async open(options: LogStoreOptions): Promise<LogStore> {
		const settings: LogStoreSettings = { ...options.settings, channel: `${options.schema}_tail` };
		const notifier = await TailNotifier.start({
			url: options.databaseUrl,
			channel: settings.channel,
			logger: options.logger,
		});
		const store = new LogStore(options, notifier, settings);
		if (options.sweepIntervalMs > 0) store.sweeper.start(options.sweepIntervalMs);
		return store;
	}

	/** A new Ingest stream. */
	session(): IngestSession {
		return new IngestSession({ writer: this.writer, pool: this.pool });
	}

	/** One page of Query. */
	query(query: LogQuery): Promise<LogPage> {
		return this.reader.query(query);
	}

	/** True when the run ever sent a chunk. */
	runExists(environmentId: string, runId: string): Promise<boolean> {
		return this.reader.runExists(environmentId, runId);
	}

	/** A run's messages after the cursor, then live until the signal aborts. */
	tail(target: TailTarget, cursor: bigint, signal: AbortSignal): AsyncGenerator<StoredLogRecord[]> {
		return followRun({
			reader: this.reader,
			notifier: this.notifier,
			target,
			cursor,
			pollMs: this.tailPollMs,
			signal,
		});
	}

	/** Stops the sweeper, the inflate thread and the LISTEN connection (the pool belongs to the caller). */
	async close(): Promise<void> {
		await this.sweeper.stop();
		await this.notifier.close();
		await this.inflateThread.close();
	}
}
