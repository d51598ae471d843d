import type { Logger } from "pino";
import { BoundedQueue } from "./bounded-queue.js";
import { ExportFailure, errorMessage } from "./exporter-errors.js";
import type { ExporterSink } from "./exporter-sink.js";
import type { ExporterSpec } from "./exporter-spec.js";
import { compileFilter, type ItemFilter } from "./item-filter.js";
import type { SignalBatch, SignalName, TelemetryItem } from "./model.js";
import { compileRedaction, type Redactor } from "./redaction.js";
import { shutdownWithin } from "./sink-shutdown.js";
import { type Sampler, traceRatioSampler } from "./trace-sampler.js";

/** The health words of an exporter. */
export type ExporterHealthState = "unknown" | "healthy" | "unhealthy" | "disabled";

/**
 * What an exporter has done on this replica. One object lives as long as the
 * exporter's registry entry and is handed from each pipeline to its replacement,
 * so an update, or a disable and enable, keeps the counts, and a batch the old
 * pipeline finishes (or aborts) after the swap still lands in them.
 */
export interface ExporterCounters {
	exported: number;
	dropped: number;
	failed: number;
	lastError: string;
	lastErrorAt: Date | undefined;
}

/** Counters of an exporter that has done nothing yet. */
export function newCounters(): ExporterCounters {
	return { exported: 0, dropped: 0, failed: 0, lastError: "", lastErrorAt: undefined };
}

/** What an exporter has done, with its health and queue right now. */
export interface ExporterStats extends ExporterCounters {
	health: ExporterHealthState;
	queueDepth: number;
	supportedSignals: SignalName[];
}

/** Options of an ExportPipeline. */
export interface ExportPipelineOptions {
	spec: ExporterSpec;
	sink: ExporterSink;
	logger: Logger;
	/** The exporter's counters, shared with the pipeline this one replaces; new ones by default. */
	counters?: ExporterCounters;
}

/**
 * One exporter's isolated path: filter and sampling on the way in, a bounded
 * queue, a batcher, redaction, then export attempts with a timeout each and
 * backoff between retryable failures. Nothing here blocks the caller of offer:
 * a stalled sink only fills its own queue.
 */
export class ExportPipeline {
	readonly spec: ExporterSpec;
	private readonly sink: ExporterSink;
	private readonly logger: Logger;
	private readonly queue: BoundedQueue<TelemetryItem>;
	private readonly filter: ItemFilter;
	private readonly sampler: Sampler | undefined;
	private readonly redactor: Redactor | undefined;
	private readonly stopping = new AbortController();
	private readonly loop: Promise<void>;
	private waiter: { threshold: number; wake: () => void } | undefined;
	private oldestAt = 0;
	private inFlight: AbortController | undefined;
	private readonly stats: ExporterCounters;
	private lastOutcome: "none" | "ok" | "failed";

	/** Compiles filter, sampler and redaction; throws InvalidExporterConfig on a bad pattern. */
	constructor(options: ExportPipelineOptions) {
		this.spec = options.spec;
		this.sink = options.sink;
		this.logger = options.logger.child({ exporter: options.spec.name });
		this.filter = compileFilter(options.spec.filter, options.sink.signals);
		this.sampler = traceRatioSampler(options.spec.samplingRatio);
		this.redactor = compileRedaction(options.spec.redaction);
		this.queue = new BoundedQueue(options.spec.queueSize, options.spec.overflow);
		this.stats = options.counters ?? newCounters();
		this.lastOutcome = options.sink.startupError === undefined ? "none" : "failed";
		if (options.sink.startupError !== undefined) this.recordError(options.sink.startupError);
		this.loop = this.run();
	}

	/** Queues the items this exporter wants; returns how many it took (after overflow). */
	offer(items: readonly TelemetryItem[]): number {
		if (this.stopping.signal.aborted) return 0;
		const wanted = items.filter(
			(item) => this.filter(item) && (this.sampler === undefined || this.sampler(item)),
		);
		if (wanted.length === 0) return 0;
		if (this.queue.length === 0) this.oldestAt = Date.now();
		const dropped = this.queue.push(wanted);
		this.stats.dropped += dropped;
		const waiter = this.waiter;
		if (waiter !== undefined && this.queue.length >= waiter.threshold) waiter.wake();
		return wanted.length - dropped;
	}

	/** Counters and health right now. */
	status(): ExporterStats {
		const health: ExporterHealthState =
			this.lastOutcome === "ok" ? "healthy" : this.lastOutcome === "failed" ? "unhealthy" : "unknown";
		return { ...this.stats, health, queueDepth: this.queue.length, supportedSignals: [...this.sink.signals] };
	}

	/** Sends one batch straight to the sink (redacted, with the timeout), outside the counters. */
	async probe(batch: SignalBatch): Promise<void> {
		if (!this.sink.signals.includes(batch.signal)) {
			const takes = this.sink.signals.length === 0 ? "no signal" : this.sink.signals.join(" and ");
			throw new ExportFailure(`this exporter does not take ${batch.signal}; it takes ${takes}`, false);
		}
		const items = this.redactor === undefined ? batch.items : batch.items.map(this.redactor);
		await this.attempt({ signal: batch.signal, items } as SignalBatch);
	}

	/** halt, then shutdownSink: returns what was still queued once the sink is shut down. */
	async stop(): Promise<TelemetryItem[]> {
		const left = await this.halt();
		await this.shutdownSink();
		return left;
	}

	/**
	 * Stops taking items and aborts the batch in flight (counted as dropped).
	 * Returns what was still queued so a replacement can take it over. Quick: it
	 * waits for no sink, so callers may hold a lock around it.
	 */
	async halt(): Promise<TelemetryItem[]> {
		this.stopping.abort();
		this.inFlight?.abort();
		this.waiter?.wake();
		await this.loop;
		return this.queue.drain();
	}

	/** Shuts the sink down, waiting at most the exporter's timeout; never throws. */
	shutdownSink(): Promise<void> {
		return shutdownWithin(this.sink, this.spec.timeoutMs, this.logger);
	}

	private async run(): Promise<void> {
		const { maxBatchSize, maxDelayMs } = this.spec;
		while (!this.stopping.signal.aborted) {
			if (this.queue.length === 0) {
				await this.waitFor(1, undefined);
				continue;
			}
			const waited = Date.now() - this.oldestAt;
			if (this.queue.length < maxBatchSize && waited < maxDelayMs) {
				await this.waitFor(maxBatchSize, maxDelayMs - waited);
				if (this.stopping.signal.aborted) break;
			}
			const items = this.queue.take(maxBatchSize);
			this.oldestAt = Date.now();
			await this.deliver(items);
		}
	}

	private waitFor(threshold: number, ms: number | undefined): Promise<void> {
		return new Promise((resolve) => {
			const timer = ms === undefined ? undefined : setTimeout(() => wake(), ms);
			const wake = () => {
				if (timer !== undefined) clearTimeout(timer);
				this.waiter = undefined;
				resolve();
			};
			this.waiter = { threshold, wake };
		});
	}

	private async deliver(items: TelemetryItem[]): Promise<void> {
		for (const batch of splitBySignal(items)) {
			const redacted = this.redactor === undefined ? batch.items : batch.items.map(this.redactor);
			await this.deliverWithRetry({ signal: batch.signal, items: redacted } as SignalBatch);
		}
	}

	private async deliverWithRetry(batch: SignalBatch): Promise<void> {
		const { maxAttempts, initialBackoffMs, maxBackoffMs } = this.spec;
		for (let attempt = 1; ; attempt++) {
			// Stopped (during a backoff, or before this signal's turn in a take): no new attempt
			// starts on a pipeline being replaced; the batch is dropped with the one in flight.
			if (this.stopping.signal.aborted) {
				this.stats.dropped += batch.items.length;
				return;
			}
			try {
				await this.attempt(batch);
				this.stats.exported += batch.items.length;
				this.lastOutcome = "ok";
				return;
			} catch (error) {
				if (this.stopping.signal.aborted) {
					// Aborted by an update or delete, not failed: the exporter drops the batch.
					this.stats.dropped += batch.items.length;
					return;
				}
				this.stats.failed += 1;
				this.lastOutcome = "failed";
				this.recordError(errorMessage(error));
				const retryable = !(error instanceof ExportFailure) || error.retryable;
				if (!retryable || attempt >= maxAttempts) {
					this.stats.dropped += batch.items.length;
					this.logger.warn(
						{ err: errorMessage(error), items: batch.items.length, attempt, retryable },
						"export failed; batch dropped",
					);
					return;
				}
				// Full jitter keeps replicas that failed together from retrying together.
				const ceiling = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
				await sleep(ceiling / 2 + Math.random() * (ceiling / 2), this.stopping.signal);
			}
		}
	}

	private async attempt(batch: SignalBatch): Promise<void> {
		const controller = new AbortController();
		this.inFlight = controller;
		try {
			await withTimeout(this.sink.export(batch, controller.signal), this.spec.timeoutMs, controller);
		} finally {
			this.inFlight = undefined;
		}
	}

	private recordError(message: string): void {
		this.stats.lastError = message;
		this.stats.lastErrorAt = new Date();
	}
}

/** Groups items by signal, keeping their order within a signal. */
export function splitBySignal(items: readonly TelemetryItem[]): SignalBatch[] {
	const traces: SignalBatch & { signal: "traces" } = { signal: "traces", items: [] };
	const logs: SignalBatch & { signal: "logs" } = { signal: "logs", items: [] };
	const metrics: SignalBatch & { signal: "metrics" } = { signal: "metrics", items: [] };
	for (const item of items) {
		if (item.signal === "traces") traces.items.push(item);
		else if (item.signal === "logs") logs.items.push(item);
		else metrics.items.push(item);
	}
	return [traces, logs, metrics].filter((b) => b.items.length > 0);
}

function withTimeout<T>(work: Promise<T>, ms: number, controller?: AbortController): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			// Reject first: the abort below would otherwise win with "export aborted".
			reject(new ExportFailure(`export timed out after ${ms} ms`, true));
			controller?.abort();
		}, ms);
		// Stopping aborts the attempt; do not wait out the timeout for a sink that ignores it.
		controller?.signal.addEventListener("abort", () => reject(new ExportFailure("export aborted", true)), {
			once: true,
		});
	});
	// A sink that ignores the abort keeps its promise; it must not surface later as unhandled.
	work.catch(() => {});
	return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		if (signal.aborted) return resolve();
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener("abort", done);
			resolve();
		}
		signal.addEventListener("abort", done, { once: true });
	});
}
