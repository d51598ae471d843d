import { type ExportResult, ExportResultCode } from "@opentelemetry/core";

/** A module exporter that exports at once but whose shutdown never settles. */
export default function createExporter() {
	return {
		export(_spans: unknown, done: (result: ExportResult) => void) {
			done({ code: ExportResultCode.SUCCESS });
		},
		shutdown: () => new Promise<void>(() => {}),
	};
}
