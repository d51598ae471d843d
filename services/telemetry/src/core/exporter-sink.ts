import type { ExporterSpec, ExporterTarget } from "./exporter-spec.js";
import type { SignalBatch, SignalName } from "./model.js";

/**
 * Where an exporter's batches finally go (OTLP, console, file, a plugin, a
 * module). export throws ExportFailure (retryable or not) or any error
 * (treated as retryable); it should stop when the signal aborts.
 */
export interface ExporterSink {
	/** Signals this sink takes. */
	readonly signals: readonly SignalName[];
	/** A problem found while building it (a plugin that did not answer); it still runs. */
	readonly startupError?: string;
	export(batch: SignalBatch, signal: AbortSignal): Promise<void>;
	shutdown(): Promise<void>;
}

/**
 * Builds sinks of one exporter kind and states which signals the kind
 * supports; a plugin or module may narrow that when it is built.
 */
export interface SinkFactory<K extends ExporterTarget["kind"] = ExporterTarget["kind"]> {
	readonly kind: K;
	readonly signals: readonly SignalName[];
	/** Throws InvalidExporterConfig when the target cannot work at all. */
	create(
		target: Extract<ExporterTarget, { kind: K }>,
		spec: ExporterSpec,
		environmentId: string,
	): Promise<ExporterSink>;
}

/** Builds the sink of any exporter spec. */
export interface SinkBuilder {
	build(spec: ExporterSpec, environmentId: string): Promise<ExporterSink>;
}

/** A SinkBuilder over one factory per kind. */
export function sinkBuilderOf(factories: SinkFactory[]): SinkBuilder {
	const byKind = new Map(factories.map((f) => [f.kind, f]));
	return {
		async build(spec, environmentId) {
			const factory = byKind.get(spec.target.kind);
			if (factory === undefined) throw new Error(`no factory for exporter kind ${spec.target.kind}`);
			return factory.create(spec.target as never, spec, environmentId);
		},
	};
}
