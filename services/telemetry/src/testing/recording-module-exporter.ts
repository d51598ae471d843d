import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/** Spans received, by the `key` option each exporter was registered with. */
export const received = new Map<string, ReadableSpan[]>();

/** The `key` option of every factory call, so a test can tell whether the factory ran. */
export const factoryCalls: string[] = [];

/**
 * A module exporter for tests: the default export is the factory, and it
 * returns an OpenTelemetry SpanExporter that keeps spans in `received`.
 */
export default function createExporter(options: Record<string, unknown>) {
	const key = String(options.key ?? "default");
	factoryCalls.push(key);
	return {
		export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
			const list = received.get(key) ?? [];
			list.push(...spans);
			received.set(key, list);
			done({ code: ExportResultCode.SUCCESS });
		},
		async shutdown() {},
	};
}
