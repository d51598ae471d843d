import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { ExportFailure } from "../core/exporter-errors.js";
import type { SignalBatch, SignalName } from "../core/model.js";
import { OtelShapes } from "./otel-shapes.js";

/** The shape every OpenTelemetry SDK exporter has (SpanExporter, LogRecordExporter, PushMetricExporter). */
export interface CallbackExporter<T> {
	export(items: T, done: (result: ExportResult) => void): void;
	shutdown(): Promise<void>;
}

/** One OpenTelemetry-style exporter per signal. */
export interface SignalExporters {
	traces: CallbackExporter<ReadableSpan[]>;
	logs: CallbackExporter<ReadableLogRecord[]>;
	metrics: CallbackExporter<ResourceMetrics>;
}

/** Converts a batch to SDK shapes and hands it to the signal's exporter. */
export async function exportThroughOtel(
	batch: SignalBatch,
	exporterOf: <K extends SignalName>(signal: K) => SignalExporters[K],
): Promise<void> {
	const shapes = new OtelShapes();
	switch (batch.signal) {
		case "traces":
			return send(exporterOf("traces"), shapes.spans(batch.items));
		case "logs":
			return send(exporterOf("logs"), shapes.logs(batch.items));
		case "metrics":
			for (const resourceMetrics of shapes.metrics(batch.items))
				await send(exporterOf("metrics"), resourceMetrics);
	}
}

function send<T>(exporter: CallbackExporter<T>, items: T): Promise<void> {
	return new Promise((resolve, reject) => {
		exporter.export(items, (result) => {
			if (result.code === ExportResultCode.SUCCESS) resolve();
			else reject(failureOf(result.error));
		});
	});
}

/**
 * HTTP 4xx other than 408 and 429 means the receiver refuses this data, so
 * retrying cannot help; so do gRPC INVALID_ARGUMENT (3), PERMISSION_DENIED (7)
 * and UNAUTHENTICATED (16). Everything else (network, 5xx, timeouts) is retried.
 */
function failureOf(error: Error | undefined): ExportFailure {
	if (error instanceof ExportFailure) return error;
	const code = (error as { code?: unknown } | undefined)?.code;
	const message = error?.message || "the export failed";
	if (typeof code === "number") {
		const httpPermanent = code >= 400 && code < 500 && code !== 408 && code !== 429;
		const grpcPermanent = code === 3 || code === 7 || code === 16;
		return new ExportFailure(message, !(httpPermanent || grpcPermanent));
	}
	return new ExportFailure(message, true);
}
