import { trace } from "@opentelemetry/api";
import { type Logger, pino } from "pino";

/** Options of the process logger. */
export interface LoggerOptions {
	level: string;
	/** Written on every line as "process"; services add "service" in a child logger. */
	service: string;
	/** Where lines go; standard output by default. */
	destination?: NodeJS.WritableStream;
}

/**
 * A pino JSON logger. Every line carries the service name and, inside a traced
 * call, the trace id, so one run can be followed across services.
 */
export function createLogger(options: LoggerOptions): Logger {
	return pino(
		{
			level: options.level,
			base: { process: options.service },
			timestamp: pino.stdTimeFunctions.isoTime,
			mixin() {
				const span = trace.getActiveSpan();
				if (span === undefined) return {};
				const { traceId, spanId } = span.spanContext();
				return { trace_id: traceId, span_id: spanId };
			},
		},
		options.destination ?? process.stdout,
	);
}

export type { Logger };
