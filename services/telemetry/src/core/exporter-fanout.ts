import type { Logger } from "pino";
import { type ExporterCounters, type ExporterStats, ExportPipeline, newCounters } from "./export-pipeline.js";
import { errorMessage } from "./exporter-errors.js";
import type { ExporterSink, SinkBuilder } from "./exporter-sink.js";
import type { ExporterSpec } from "./exporter-spec.js";
import type { SignalBatch, TelemetryItem } from "./model.js";
import { shutdownWithin } from "./sink-shutdown.js";

/** A registry entry as the fan-out runs it. */
export interface RegisteredExporter {
	id: string;
	environmentId: string;
	revision: number;
	spec: ExporterSpec;
}

interface Running {
	entry: RegisteredExporter;
	pipeline: ExportPipeline | undefined;
	/** Why it could not be built on this replica (a module that no longer loads). */
	buildError: string | undefined;
	/** Kept while the exporter is disabled or unbuilt, and handed to every new pipeline. */
	counters: ExporterCounters;
}

/** Options of ExporterFanout. */
export interface ExporterFanoutOptions {
	builder: SinkBuilder;
	logger: Logger;
}

/**
 * The running exporter set: hands every item to each enabled exporter of its
 * environment, and swaps exporters in and out as the registry changes. Changes
 * run one at a time; offer never waits for them or for any exporter.
 */
export class ExporterFanout {
	private readonly builder: SinkBuilder;
	private readonly logger: Logger;
	private readonly running = new Map<string, Running>();
	private byEnvironment = new Map<string, ExportPipeline[]>();
	private changes: Promise<unknown> = Promise.resolve();
	/** Sinks of replaced or removed pipelines still shutting down (awaited by close only). */
	private readonly retiring = new Set<Promise<void>>();
	private closed = false;

	constructor(options: ExporterFanoutOptions) {
		this.builder = options.builder;
		this.logger = options.logger;
	}

	/** Hands items to every exporter of the environment; returns how many exporters took any. */
	offer(environmentId: string, items: readonly TelemetryItem[]): number {
		let taken = 0;
		for (const pipeline of this.byEnvironment.get(environmentId) ?? []) {
			if (pipeline.offer(items) > 0) taken += 1;
		}
		return taken;
	}

	/**
	 * Runs an entry's new revision, replacing the old one; the old queue moves to
	 * the new exporter (through its new filter). A sink built by the caller (the
	 * registry validated it) is used as is.
	 */
	install(entry: RegisteredExporter, sink?: ExporterSink): Promise<void> {
		return this.serial(() => this.installNow(entry, sink));
	}

	/** Stops an exporter; what it still queued is dropped. */
	remove(id: string): Promise<void> {
		return this.serial(() => this.removeNow(id));
	}

	/** Makes the running set equal to the registry's entries (a reload). */
	sync(entries: RegisteredExporter[]): Promise<void> {
		return this.serial(async () => {
			const wanted = new Set(entries.map((e) => e.id));
			for (const id of [...this.running.keys()]) if (!wanted.has(id)) await this.removeNow(id);
			for (const entry of entries) {
				const running = this.running.get(entry.id);
				// A build that failed here (a module missing on this host) is tried again on every reload.
				if (running?.entry.revision !== entry.revision || running.buildError !== undefined)
					await this.installNow(entry);
			}
		});
	}

	/** The revision running for an id, if any. */
	revisionOf(id: string): number | undefined {
		return this.running.get(id)?.entry.revision;
	}

	/** Status of a running exporter. */
	status(id: string): ExporterStats | undefined {
		const running = this.running.get(id);
		if (running === undefined) return undefined;
		if (running.pipeline !== undefined) return running.pipeline.status();
		return {
			...running.counters,
			health: running.buildError === undefined ? "disabled" : "unhealthy",
			lastError: running.buildError ?? running.counters.lastError,
			queueDepth: 0,
			supportedSignals: [],
		};
	}

	/** Sends one batch through an exporter's sink at once; throws its error. */
	async probe(id: string, batch: SignalBatch): Promise<void> {
		const running = this.running.get(id);
		if (running?.pipeline === undefined) {
			throw new Error(running?.buildError ?? "the exporter is disabled");
		}
		await running.pipeline.probe(batch);
	}

	/** Stops every exporter, waiting for their sinks to shut down (each within its timeout). */
	async close(): Promise<void> {
		this.closed = true;
		await this.serial(async () => {
			for (const id of [...this.running.keys()]) await this.removeNow(id);
		});
		await Promise.all(this.retiring);
	}

	private serial<T>(work: () => Promise<T>): Promise<T> {
		const next = this.changes.then(work, work);
		this.changes = next.catch(() => {});
		return next;
	}

	private async installNow(entry: RegisteredExporter, prebuilt?: ExporterSink): Promise<void> {
		if (this.closed) {
			if (prebuilt !== undefined) this.release(prebuilt, entry);
			return;
		}
		const old = this.running.get(entry.id);
		if (old !== undefined && old.buildError === undefined && old.entry.revision >= entry.revision) {
			// A reload on change notification may have run this revision already.
			if (prebuilt !== undefined) this.release(prebuilt, entry);
			return;
		}
		const counters = old?.counters ?? newCounters();
		let next: Running = { entry, pipeline: undefined, buildError: undefined, counters };
		if (entry.spec.enabled) {
			try {
				const sink = prebuilt ?? (await this.builder.build(entry.spec, entry.environmentId));
				next.pipeline = new ExportPipeline({ spec: entry.spec, sink, logger: this.logger, counters });
			} catch (error) {
				next = { entry, pipeline: undefined, buildError: errorMessage(error), counters };
				this.logger.warn({ exporter: entry.spec.name, err: next.buildError }, "exporter could not be built");
			}
		} else if (prebuilt !== undefined) {
			this.release(prebuilt, entry);
		}
		this.running.set(entry.id, next);
		this.reindex();
		if (old?.pipeline !== undefined) {
			const left = await old.pipeline.halt();
			const taken = next.pipeline?.offer(left) ?? 0;
			counters.dropped += left.length - taken;
			this.retire(old.pipeline);
		}
	}

	private async removeNow(id: string): Promise<void> {
		const old = this.running.get(id);
		if (old === undefined) return;
		this.running.delete(id);
		this.reindex();
		if (old.pipeline !== undefined) {
			const left = await old.pipeline.halt();
			old.counters.dropped += left.length;
			this.retire(old.pipeline);
		}
	}

	/**
	 * Shuts a halted pipeline's sink down outside the serial section: a sink whose
	 * shutdown hangs (up to its timeout) must not hold every other registry change.
	 */
	private retire(pipeline: ExportPipeline): void {
		this.track(pipeline.shutdownSink());
	}

	/** Shuts down a sink that will not run, outside the serial section as retire does. */
	private release(sink: ExporterSink, entry: RegisteredExporter): void {
		this.track(shutdownWithin(sink, entry.spec.timeoutMs, this.logger));
	}

	private track(shutdown: Promise<void>): void {
		const done = shutdown.finally(() => this.retiring.delete(done));
		this.retiring.add(done);
	}

	private reindex(): void {
		const index = new Map<string, ExportPipeline[]>();
		for (const { entry, pipeline } of this.running.values()) {
			if (pipeline === undefined) continue;
			const list = index.get(entry.environmentId) ?? [];
			list.push(pipeline);
			index.set(entry.environmentId, list);
		}
		// Swapped whole so offer, which runs between awaits here, always sees a complete set.
		this.byEnvironment = index;
	}
}
