import { type SinkBuilder, type SinkFactory, sinkBuilderOf } from "../core/exporter-sink.js";
import { consoleFactory } from "./console-sink.js";
import { fileFactory } from "./file-sink.js";
import { moduleFactory } from "./module-sink.js";
import { otlpGrpcFactory, otlpHttpFactory } from "./otlp-sink.js";
import { pluginFactory } from "./plugin-sink.js";

/** Where file and module exporters may point; empty lists allow any path. */
export interface ExporterRoots {
	fileRoots: readonly string[];
	moduleRoots: readonly string[];
}

/** Every built-in exporter kind, one factory each. */
export function builtInFactories(roots: ExporterRoots): SinkFactory[] {
	return [
		otlpHttpFactory,
		otlpGrpcFactory,
		consoleFactory,
		fileFactory(roots.fileRoots),
		pluginFactory,
		moduleFactory(roots.moduleRoots),
	] as SinkFactory[];
}

/** The sink builder the service uses. */
export function builtInSinkBuilder(roots: ExporterRoots = { fileRoots: [], moduleRoots: [] }): SinkBuilder {
	return sinkBuilderOf(builtInFactories(roots));
}
