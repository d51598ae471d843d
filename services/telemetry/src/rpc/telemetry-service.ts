import type { TelemetryService } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { ServiceError, type ServiceImplementation } from "../../../kit/src/index.js";
import type { ExporterFanout } from "../core/exporter-fanout.js";
import { InvalidTelemetry, telemetryFromProto } from "../proto/telemetry-from-proto.js";
import { environmentIdOf } from "./request-checks.js";

/** Options of the TelemetryService handlers. */
export interface TelemetryServiceOptions {
	fanout: ExporterFanout;
	/** TELEMETRY_MAX_EXPORT_ITEMS. */
	maxItems: number;
}

/**
 * TelemetryService.Export: validates and converts, hands the items to every
 * exporter of the environment, and returns without waiting for any of them.
 */
export function telemetryService(
	options: TelemetryServiceOptions,
): ServiceImplementation<typeof TelemetryService> {
	return {
		async export(request) {
			const environmentId = environmentIdOf(request);
			let converted: ReturnType<typeof telemetryFromProto>;
			try {
				converted = telemetryFromProto(request);
			} catch (error) {
				if (error instanceof InvalidTelemetry)
					throw ServiceError.invalidField(error.field, error.description);
				throw error;
			}
			const total = converted.limitedItems;
			if (total > options.maxItems) {
				throw new ServiceError(
					"RESOURCE_EXHAUSTED",
					`request: ${total} spans, log records and data points (a metric without points counts as one) is over the limit of ${options.maxItems} (TELEMETRY_MAX_EXPORT_ITEMS); split it into smaller calls`,
				);
			}
			options.fanout.offer(environmentId, converted.items);
			return {
				acceptedSpans: BigInt(converted.spans),
				acceptedLogRecords: BigInt(converted.logRecords),
				acceptedDataPoints: BigInt(converted.dataPoints),
			};
		},
	};
}
