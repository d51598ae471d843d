import type { Logger } from "pino";
import type { FairQueue } from "./fair-queue.js";

/**
 * Sweeps every environment now and then, so deliveries past their visibility
 * timeout go back and delayed messages become ready even when no consumer is
 * asking (consumers also do both on every delivery call).
 */
export class VisibilityReaper {
	private timer: NodeJS.Timeout | undefined;
	private running: Promise<void> | undefined;
	private stopped = false;
	private readonly queue: FairQueue;
	private readonly everyMs: number;
	private readonly logger: Logger;

	constructor(options: { queue: FairQueue; everyMs: number; logger: Logger }) {
		this.queue = options.queue;
		this.everyMs = options.everyMs;
		this.logger = options.logger;
	}

	/** Starts sweeping. */
	start(): void {
		this.schedule();
	}

	/** Stops sweeping and waits for a sweep in progress. */
	async stop(): Promise<void> {
		this.stopped = true;
		if (this.timer !== undefined) clearTimeout(this.timer);
		await this.running;
	}

	private schedule(): void {
		if (this.stopped) return;
		this.timer = setTimeout(() => {
			this.running = this.queue
				.sweep()
				.then(() => undefined)
				.catch((error: unknown) => this.logger.warn({ err: error }, "queue sweep failed; retrying"))
				.finally(() => this.schedule());
		}, this.everyMs);
		this.timer.unref();
	}
}
