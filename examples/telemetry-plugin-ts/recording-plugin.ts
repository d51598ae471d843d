import {
	type ExporterPluginService,
	type ExporterPluginServiceExportRequest,
	PluginExportResult,
	Signal,
} from "../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type { ServiceImplementation } from "../../services/kit/src/index.js";

/** What the plugin does with a batch. */
export type PluginMode = "record" | "stall" | "fail-retryable" | "fail-permanent";

/** A span as the plugin saw it. */
export interface ReceivedSpan {
	exporterName: string;
	environmentId: string;
	traceId: string;
	name: string;
	attributes: Record<string, string>;
}

/**
 * An exporter plugin that keeps what it receives in memory. In "stall" mode it
 * never answers (until the caller gives up), which is how a hung backend looks.
 */
export class RecordingPlugin {
	readonly spans: ReceivedSpan[] = [];
	logRecords = 0;
	dataPoints = 0;
	mode: PluginMode;
	private waiters: Array<() => void> = [];

	constructor(options: { mode?: PluginMode } = {}) {
		this.mode = options.mode ?? "record";
	}

	/** The ExporterPluginService implementation. */
	implementation(): ServiceImplementation<typeof ExporterPluginService> {
		return {
			describe: async () => ({
				name: "recording-plugin",
				signals: [Signal.TRACES, Signal.LOGS, Signal.METRICS],
			}),
			export: async (request, context) => {
				switch (this.mode) {
					case "stall":
						await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()));
						return { result: PluginExportResult.RETRYABLE_FAILURE, message: "stalled" };
					case "fail-retryable":
						return { result: PluginExportResult.RETRYABLE_FAILURE, message: "backend busy" };
					case "fail-permanent":
						return { result: PluginExportResult.PERMANENT_FAILURE, message: "backend refuses this data" };
					case "record":
						this.record(request);
						return { result: PluginExportResult.SUCCESS };
				}
			},
		};
	}

	/** Resolves once at least count spans have arrived. */
	waitForSpans(count: number): Promise<void> {
		if (this.spans.length >= count) return Promise.resolve();
		return new Promise((resolve) => {
			const check = () => {
				if (this.spans.length >= count) resolve();
				else this.waiters.push(check);
			};
			this.waiters.push(check);
		});
	}

	private record(request: ExporterPluginServiceExportRequest): void {
		for (const rs of request.resourceSpans) {
			for (const ss of rs.scopeSpans) {
				for (const span of ss.spans) {
					const attributes: Record<string, string> = {};
					for (const kv of span.attributes) {
						const v = kv.value?.value;
						attributes[kv.key] = v === undefined || v.case === undefined ? "" : String(v.value);
					}
					this.spans.push({
						exporterName: request.exporterName,
						environmentId: request.environmentId,
						traceId: Buffer.from(span.traceId).toString("hex"),
						name: span.name,
						attributes,
					});
				}
			}
		}
		for (const rl of request.resourceLogs)
			for (const sl of rl.scopeLogs) this.logRecords += sl.logRecords.length;
		for (const rm of request.resourceMetrics)
			for (const sm of rm.scopeMetrics)
				for (const m of sm.metrics)
					this.dataPoints += m.data.case === undefined ? 0 : m.data.value.dataPoints.length;
		for (const wake of this.waiters.splice(0)) wake();
	}
}
