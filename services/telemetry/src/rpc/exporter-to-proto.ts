import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
	ExporterHealth,
	type ExporterSchema,
	Signal,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type { ExporterStats } from "../core/export-pipeline.js";
import type { SignalName } from "../core/model.js";
import type { StoredExporter } from "../registry/exporter-store.js";

const HEALTH: Record<ExporterStats["health"], ExporterHealth> = {
	unknown: ExporterHealth.UNSPECIFIED,
	healthy: ExporterHealth.HEALTHY,
	unhealthy: ExporterHealth.UNHEALTHY,
	disabled: ExporterHealth.DISABLED,
};

const SIGNAL: Record<SignalName, Signal> = {
	traces: Signal.TRACES,
	logs: Signal.LOGS,
	metrics: Signal.METRICS,
};

/** A stored exporter with this replica's status of it. */
export function exporterToProto(
	stored: StoredExporter,
	stats: ExporterStats | undefined,
): MessageInitShape<typeof ExporterSchema> {
	const disabled = !stored.config.enabled;
	return {
		id: stored.id,
		environmentId: stored.environmentId,
		config: stored.config,
		revision: BigInt(stored.revision),
		createdAt: timestampFromDate(stored.createdAt),
		updatedAt: timestampFromDate(stored.updatedAt),
		status:
			stats === undefined
				? { health: disabled ? ExporterHealth.DISABLED : ExporterHealth.UNSPECIFIED }
				: {
						health: disabled ? ExporterHealth.DISABLED : HEALTH[stats.health],
						exported: BigInt(stats.exported),
						dropped: BigInt(stats.dropped),
						failed: BigInt(stats.failed),
						lastError: stats.lastError,
						lastErrorAt: stats.lastErrorAt === undefined ? undefined : timestampFromDate(stats.lastErrorAt),
						queueDepth: stats.queueDepth,
						supportedSignals: stats.supportedSignals.map((s) => SIGNAL[s]),
					},
	};
}
