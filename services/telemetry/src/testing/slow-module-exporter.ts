import { type ExportResult, ExportResultCode } from "@opentelemetry/core";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";

/** Span names each exporter (by its `key` option) has started exporting. */
export const started = new Map<string, string[]>();

/**
 * A module exporter for tests that takes `delayMs` (option) to export each batch
 * and ignores aborts, so a test can change the exporter while a batch is in flight.
 */
export default function createExporter(options: Record<string, unknown>) {
	const key = String(options.key ?? "default");
	const delayMs = Number(options.delayMs ?? 0);
	return {
		export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
			started.set(key, [...(started.get(key) ?? []), ...spans.map((s) => s.name)]);
			// Unref'd: a test that ends with a batch still in flight must not wait for it.
			setTimeout(() => done({ code: ExportResultCode.SUCCESS }), delayMs).unref();
		},
		async shutdown() {},
	};
}
