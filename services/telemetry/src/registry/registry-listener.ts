import pg from "pg";
import type { Logger } from "pino";
import { errorMessage } from "../core/exporter-errors.js";

/** Options of RegistryListener. */
export interface RegistryListenerOptions {
	databaseUrl: string;
	channel: string;
	intervalMs: number;
	/** Re-reads the registry; calls never overlap. */
	reload: () => Promise<void>;
	logger: Logger;
}

/**
 * Keeps a replica's exporter set current: LISTEN for the registry's change
 * notifications, and reload on a timer too, since a notification sent while
 * the connection was down is lost. Reloads coalesce: one runs at a time, and
 * changes during it cause exactly one more.
 */
export class RegistryListener {
	private client: pg.Client | undefined;
	private timer: NodeJS.Timeout | undefined;
	private running: Promise<void> | undefined;
	private again = false;
	private closed = false;

	private constructor(private readonly options: RegistryListenerOptions) {}

	/** Connects, listens and starts the timer. */
	static async start(options: RegistryListenerOptions): Promise<RegistryListener> {
		const listener = new RegistryListener(options);
		await listener.connect();
		listener.timer = setInterval(() => listener.trigger(), options.intervalMs);
		listener.timer.unref();
		return listener;
	}

	/** Reloads now (coalesced with any reload in progress); resolves when it is done. */
	trigger(): Promise<void> {
		if (this.closed) return Promise.resolve();
		if (this.running !== undefined) {
			this.again = true;
			return this.running;
		}
		this.running = (async () => {
			do {
				this.again = false;
				await this.options.reload().catch((error: unknown) => {
					this.options.logger.error({ err: errorMessage(error) }, "registry reload failed");
				});
			} while (this.again && !this.closed);
			this.running = undefined;
		})();
		return this.running;
	}

	/** Stops listening. */
	async close(): Promise<void> {
		this.closed = true;
		clearInterval(this.timer);
		await this.running;
		await this.client?.end().catch(() => {});
	}

	private async connect(): Promise<void> {
		const client = new pg.Client({ connectionString: this.options.databaseUrl });
		client.on("notification", () => void this.trigger());
		client.on("error", (error) => {
			this.options.logger.warn(
				{ err: errorMessage(error) },
				"registry listener lost its connection; reconnecting",
			);
			this.client = undefined;
			void client.end().catch(() => {});
			this.reconnectLater();
		});
		await client.connect();
		await client.query(`LISTEN "${this.options.channel}"`);
		this.client = client;
	}

	private reconnectLater(): void {
		if (this.closed) return;
		setTimeout(() => {
			if (this.closed) return;
			this.connect()
				.then(() => this.trigger())
				.catch(() => this.reconnectLater());
		}, 1_000).unref();
	}
}
