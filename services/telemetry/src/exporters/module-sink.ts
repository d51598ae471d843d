import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import { ExportFailure, errorMessage, InvalidExporterConfig } from "../core/exporter-errors.js";
import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import type { ExporterTarget } from "../core/exporter-spec.js";
import { ALL_SIGNALS, type SignalName } from "../core/model.js";
import { settleWithin, TimedOut } from "../core/settle-within.js";
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

/** The exporters a module built, by the signal each takes. */
type ModuleSignalExporters = Partial<Record<SignalName, CallbackExporter<never>>>;

/**
 * Longest a module may take to load and build its exporter at registration (or
 * the exporter's timeout when shorter): an import or a factory that never
 * settles must not hold a registry call, or a reload, forever.
 */
export const MAX_MODULE_BUILD_MS = 10_000;

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
			await assertUnderRoots(target.path, roots, field, "TELEMETRY_MODULE_ROOTS");
			const timeoutMs = Math.min(spec.timeoutMs, MAX_MODULE_BUILD_MS);
			let exporters: ModuleSignalExporters;
			try {
				exporters = await settleWithin(buildExporters(target, spec.name, environmentId), timeoutMs, (late) =>
					shutdownAll(late).catch(() => {}),
				);
			} catch (error) {
				if (!(error instanceof TimedOut)) throw error;
				throw new InvalidExporterConfig(
					field,
					`module "${target.path}" did not load and build its exporter within ${timeoutMs} ms (the exporter's timeout, at most ${MAX_MODULE_BUILD_MS / 1_000} s)`,
				);
			}
			const signals = ALL_SIGNALS.filter((s) => exporters[s] !== undefined);
			const sink: ExporterSink = {
				signals,
				async export(batch) {
					if (exporters[batch.signal] === undefined) {
						throw new ExportFailure(
							`module "${target.path}" has no ${batch.signal} exporter; it takes ${signals.join(" and ")}`,
							false,
						);
					}
					await exportThroughOtel(batch, (signal) => exporters[signal] as SignalExporters[typeof signal]);
				},
				shutdown: () => shutdownAll(exporters),
			};
			return sink;
		},
	};
}

/** Imports the module and runs its factory; throws InvalidExporterConfig naming config.module.path. */
async function buildExporters(
	target: Extract<ExporterTarget, { kind: "module" }>,
	name: string,
	environmentId: string,
): Promise<ModuleSignalExporters> {
	const field = "config.module.path";
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
		made = await factory(target.options, { name, environmentId });
	} catch (error) {
		throw new InvalidExporterConfig(field, `the factory of "${target.path}" failed: ${errorMessage(error)}`);
	}
	const exporters = exportersOf(made);
	if (exporters === undefined) {
		throw new InvalidExporterConfig(
			field,
			`the factory of "${target.path}" returned no exporter (an object with export(), or traces/logs/metrics exporters)`,
		);
	}
	return exporters;
}

async function shutdownAll(exporters: ModuleSignalExporters): Promise<void> {
	await Promise.all(Object.values(exporters).map((e) => e?.shutdown?.()));
}

function exportersOf(made: unknown): ModuleSignalExporters | undefined {
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
