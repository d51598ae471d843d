import { type SinkBuilder, type SinkFactory, sinkBuilderOf } from "../core/exporter-sink.js";
import { consoleFactory } from "./console-sink.js";
import { fileFactory } from "./file-sink.js";
import { moduleFactory } from "./module-sink.js";
import { otlpGrpcFactory, otlpHttpFactory } from "./otlp-sink.js";
import { pluginFactory } from "./plugin-sink.js";

/** Every built-in exporter kind, one factory each. */
export const builtInFactories: SinkFactory[] = [
	otlpHttpFactory,
	otlpGrpcFactory,
	consoleFactory,
	fileFactory,
	pluginFactory,
	moduleFactory,
] as SinkFactory[];

/** The sink builder the service uses. */
export function builtInSinkBuilder(): SinkBuilder {
	return sinkBuilderOf(builtInFactories);
}
