import { resourceFromAttributes } from "@opentelemetry/resources";
import { NodeSDK } from "@opentelemetry/sdk-node";
import type { SpanExporter, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { BatchSpanProcessor, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";

/** Options of the process-wide OpenTelemetry SDK. */
export interface TelemetryOptions {
	serviceName: string;
	/** Where spans go; none means spans are created (ids propagate) but not exported. */
	spanExporter?: SpanExporter;
	/** Export each span at once instead of in batches (tests). */
	exportImmediately?: boolean;
}

/** Stops the SDK, flushing what it holds. */
export type TelemetryShutdown = () => Promise<void>;

/**
 * Starts @opentelemetry/sdk-node for this process with the W3C trace-context
 * propagator, so trace ids travel in gRPC metadata on every hop. Instrumentation
 * of our own RPCs is done by the kit's handlers and client interceptor.
 */
export function startTelemetry(options: TelemetryOptions): TelemetryShutdown {
	const spanProcessors: SpanProcessor[] = [];
	if (options.spanExporter !== undefined) {
		spanProcessors.push(
			options.exportImmediately
				? new SimpleSpanProcessor(options.spanExporter)
				: new BatchSpanProcessor(options.spanExporter),
		);
	}
	const sdk = new NodeSDK({
		resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
		spanProcessors,
		instrumentations: [],
		// Metrics and logs exporters are configured by their own issues; the SDK
		// must not start OTLP exporters of its own from the environment.
		metricReaders: [],
		logRecordProcessors: [],
	});
	sdk.start();
	return () => sdk.shutdown();
}
