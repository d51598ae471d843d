import { type ExportResult, ExportResultCode } from "@opentelemetry/core";

/** A module exporter that takes log records only. */
export default function createExporter() {
	return {
		logs: {
			export(_records: unknown, done: (result: ExportResult) => void) {
				done({ code: ExportResultCode.SUCCESS });
			},
			async shutdown() {},
		},
	};
}
