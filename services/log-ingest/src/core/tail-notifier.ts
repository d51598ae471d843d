import pg from "pg";
import type { Logger } from "pino";

type Wake = () => void;

/**
 * One LISTEN connection per service process that wakes the Tail streams of a run
 * when new messages of it commit. Notifications only say "look again": streams
 * re-read from their cursor, so a notification lost while reconnecting costs a
 * delay (the streams' poll picks it up), never a message.
 */
export class TailNotifier {
	private readonly url: string;
	private readonly channel: string;
	private readonly logger: Logger;
	private readonly listeners = new Map<string, Set<Wake>>();
	private client: pg.Client | undefined;
	private closed = false;
	private reconnectTimer: NodeJS.Timeout | undefined;

	private constructor(options: { url: string; channel: string; logger: Logger }) {
		this.url = options.url;
		this.channel = options.channel;
		this.logger = options.logger;
	}

	/** Connects and listens; throws when PostgreSQL cannot be reached at start-up. */
	static async start(options: { url: string; channel: string; logger: Logger }): Promise<TailNotifier> {
		const notifier = new TailNotifier(options);
		await notifier.connect();
		return notifier;
	}

	/** Calls wake whenever messages of the run commit; returns the unsubscribe function. */
	subscribe(environmentId: string, runId: string, wake: Wake): () => void {
		const key = JSON.stringify([environmentId, runId]);
		let set = this.listeners.get(key);
		if (set === undefined) {
			set = new Set();
			this.listeners.set(key, set);
		}
		set.add(wake);
		return () => {
			set.delete(wake);
			if (set.size === 0) this.listeners.delete(key);
		};
	}

	/** Stops listening. */
	async close(): Promise<void> {
		this.closed = true;
		clearTimeout(this.reconnectTimer);
		await this.client?.end().catch(() => {});
	}

	private async connect(): Promise<void> {
		const client = new pg.Client({ connectionString: this.url, application_name: "taskmesh-log-tail" });
		client.on("notification", (message) => this.dispatch(message.payload));
		client.on("error", (error) => {
			this.logger.warn({ err: error }, "tail listener connection failed; reconnecting");
			this.reconnectSoon(client);
		});
		client.on("end", () => this.reconnectSoon(client));
		await client.connect();
		await client.query(`LISTEN "${this.channel}"`);
		this.client = client;
		// Anything committed while we were not listening is picked up by a re-read.
		for (const set of this.listeners.values()) for (const wake of set) wake();
	}

	private reconnectSoon(failed: pg.Client): void {
		if (this.closed || this.client !== failed) return;
		this.client = undefined;
		failed.end().catch(() => {});
		this.reconnectTimer = setTimeout(() => {
			this.connect().catch((error: unknown) => {
				this.logger.warn({ err: error }, "tail listener could not reconnect; retrying");
				this.client = failed;
				this.reconnectSoon(failed);
			});
		}, 1_000);
	}

	private dispatch(payload: string | undefined): void {
		if (payload === undefined) return;
		let parsed: unknown;
		try {
			parsed = JSON.parse(payload);
		} catch {
			return;
		}
		if (!Array.isArray(parsed)) return;
		const set = this.listeners.get(JSON.stringify([parsed[0], parsed[1]]));
		if (set !== undefined) for (const wake of set) wake();
	}
}
