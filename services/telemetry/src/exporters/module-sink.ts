import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage, InvalidExporterConfig } from "../core/exporter-errors.js";
import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import { ALL_SIGNALS, type SignalName } from "../core/model.js";
import { assertUnderRoots } from "./allowed-roots.js";
import { type CallbackExporter, exportThroughOtel, type SignalExporters } from "./otel-export.js";

/** What a module's factory is called with. */
export interface ModuleFactoryContext {
	/** The registered exporter's name. */
	name: string;
	environmentId: string;
}

/**
 * What a factory may return: one OpenTelemetry SpanExporter (traces), or one
 * exporter per signal it takes.
 */
export type ModuleExporters = CallbackExporter<never> | Partial<Record<SignalName, CallbackExporter<never>>>;

/** The factory a module exports, as default or as createExporter. */
export type ModuleExporterFactory = (
	options: Record<string, unknown>,
	context: ModuleFactoryContext,
) => ModuleExporters | Promise<ModuleExporters>;

/**
 * An in-process exporter: a JavaScript (or TypeScript, under tsx) module whose
 * default export or createExporter builds OpenTelemetry-style exporters. A
 * module that does not load, or exports no factory, is refused at registration.
 */
export function moduleFactory(roots: readonly string[] = []): SinkFactory<"module"> {
	return {
		kind: "module",
		signals: ALL_SIGNALS,
		async create(target, spec, environmentId) {
			const field = "config.module.path";
			assertUnderRoots(target.path, roots, field, "TELEMETRY_MODULE_ROOTS");
			let loaded: Record<string, unknown>;
			try {
				loaded = (await import(
					isAbsolute(target.path) ? pathToFileURL(target.path).href : target.path
				)) as Record<string, unknown>;
			} catch (error) {
				throw new InvalidExporterConfig(
					field,
					`module "${target.path}" could not be loaded: ${errorMessage(error)}`,
				);
			}
			const factory = (loaded.createExporter ?? loaded.default) as ModuleExporterFactory | undefined;
			if (typeof factory !== "function") {
				throw new InvalidExporterConfig(
					field,
					`module "${target.path}" exports no factory (a default export or createExporter function)`,
				);
			}
			let made: ModuleExporters;
			try {
				made = await factory(target.options, { name: spec.name, environmentId });
			} catch (error) {
				throw new InvalidExporterConfig(
					field,
					`the factory of "${target.path}" failed: ${errorMessage(error)}`,
				);
			}
			const exporters = exportersOf(made);
			if (exporters === undefined) {
				throw new InvalidExporterConfig(
					field,
					`the factory of "${target.path}" returned no exporter (an object with export(), or traces/logs/metrics exporters)`,
				);
			}
			const signals = ALL_SIGNALS.filter((s) => exporters[s] !== undefined);
			const sink: ExporterSink = {
				signals,
				export: (batch) =>
					exportThroughOtel(batch, (signal) => exporters[signal] as SignalExporters[typeof signal]),
				async shutdown() {
					await Promise.all(Object.values(exporters).map((e) => e?.shutdown?.()));
				},
			};
			return sink;
		},
	};
}

function exportersOf(made: unknown): Partial<Record<SignalName, CallbackExporter<never>>> | undefined {
	if (made === null || typeof made !== "object") return undefined;
	if (typeof (made as CallbackExporter<never>).export === "function")
		return { traces: made as CallbackExporter<never> };
	const out: Partial<Record<SignalName, CallbackExporter<never>>> = {};
	for (const signal of ALL_SIGNALS) {
		const candidate = (made as Record<string, unknown>)[signal] as CallbackExporter<never> | undefined;
		if (candidate !== undefined && typeof candidate.export === "function") out[signal] = candidate;
	}
	return Object.keys(out).length === 0 ? undefined : out;
}
