/**
 * Loaded with --import into the queue service for the benchmark's "telemetry on"
 * runs: a real metrics SDK (collected every second) and a real tracer provider
 * (batched spans), both into memory, so the cost measured is the SDK's own.
 */
import { metrics, trace } from "@opentelemetry/api";
import {
	AggregationTemporality,
	InMemoryMetricExporter,
	MeterProvider,
	PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";

const metricExporter = new InMemoryMetricExporter(AggregationTemporality.DELTA);
metrics.setGlobalMeterProvider(
	new MeterProvider({
		readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 1000 })],
	}),
);
const spanExporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
	new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spanExporter)] }),
);
// Keep memory flat over a long run: what was exported is dropped.
setInterval(() => {
	metricExporter.reset();
	spanExporter.reset();
}, 5000).unref();
