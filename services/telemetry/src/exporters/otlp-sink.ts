import { Metadata } from "@grpc/grpc-js";
import { OTLPLogExporter as GrpcLogExporter } from "@opentelemetry/exporter-logs-otlp-grpc";
import { OTLPLogExporter as JsonLogExporter } from "@opentelemetry/exporter-logs-otlp-http";
import { OTLPLogExporter as ProtoLogExporter } from "@opentelemetry/exporter-logs-otlp-proto";
import { OTLPMetricExporter as GrpcMetricExporter } from "@opentelemetry/exporter-metrics-otlp-grpc";
import { OTLPMetricExporter as JsonMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPMetricExporter as ProtoMetricExporter } from "@opentelemetry/exporter-metrics-otlp-proto";
import { OTLPTraceExporter as GrpcTraceExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import type { ExporterTarget } from "../core/exporter-spec.js";
import { ALL_SIGNALS, type SignalBatch } from "../core/model.js";
import { exportThroughOtel, type SignalExporters } from "./otel-export.js";

type OtlpTarget = Extract<ExporterTarget, { kind: "otlpHttp" | "otlpGrpc" }>;

/**
 * Exports through the OpenTelemetry OTLP exporter libraries: protobuf or JSON
 * over HTTP, or gRPC. Each signal's library exporter is made on first use.
 */
class OtlpSink implements ExporterSink {
	readonly signals = ALL_SIGNALS;
	private readonly made: Partial<SignalExporters> = {};

	constructor(
		private readonly target: OtlpTarget,
		private readonly timeoutMillis: number,
	) {}

	export(batch: SignalBatch): Promise<void> {
		return exportThroughOtel(batch, (signal) => this.exporter(signal));
	}

	async shutdown(): Promise<void> {
		await Promise.all(Object.values(this.made).map((e) => e.shutdown()));
	}

	private exporter<K extends keyof SignalExporters>(signal: K): SignalExporters[K] {
		const made = this.made[signal] ?? createExporter(this.target, signal, this.timeoutMillis);
		this.made[signal] = made;
		return made as SignalExporters[K];
	}
}

function createExporter<K extends keyof SignalExporters>(
	target: OtlpTarget,
	signal: K,
	timeoutMillis: number,
): SignalExporters[K] {
	const makers: { [S in keyof SignalExporters]: () => SignalExporters[S] } =
		target.kind === "otlpGrpc" ? grpcMakers(target, timeoutMillis) : httpMakers(target, timeoutMillis);
	return makers[signal]();
}

function grpcMakers(target: OtlpTarget, timeoutMillis: number) {
	const metadata = new Metadata();
	for (const [key, value] of Object.entries(target.headers)) metadata.set(key, value);
	const config = { url: target.endpoint, metadata, timeoutMillis };
	return {
		traces: () => new GrpcTraceExporter(config),
		logs: () => new GrpcLogExporter(config),
		metrics: () => new GrpcMetricExporter(config),
	};
}

function httpMakers(target: Extract<OtlpTarget, { kind: "otlpHttp" }> | OtlpTarget, timeoutMillis: number) {
	const json = target.kind === "otlpHttp" && target.json;
	const base = target.endpoint.replace(/\/+$/, "");
	const config = (path: string) => ({ url: `${base}/v1/${path}`, headers: target.headers, timeoutMillis });
	return {
		traces: () => (json ? new JsonTraceExporter(config("traces")) : new ProtoTraceExporter(config("traces"))),
		logs: () => (json ? new JsonLogExporter(config("logs")) : new ProtoLogExporter(config("logs"))),
		metrics: () =>
			json ? new JsonMetricExporter(config("metrics")) : new ProtoMetricExporter(config("metrics")),
	};
}

/** OTLP over HTTP (protobuf by default, JSON on request). */
export const otlpHttpFactory: SinkFactory<"otlpHttp"> = {
	kind: "otlpHttp",
	signals: ALL_SIGNALS,
	create: async (target, spec) => new OtlpSink(target, spec.timeoutMs),
};

/** OTLP over gRPC. */
export const otlpGrpcFactory: SinkFactory<"otlpGrpc"> = {
	kind: "otlpGrpc",
	signals: ALL_SIGNALS,
	create: async (target, spec) => new OtlpSink(target, spec.timeoutMs),
};
