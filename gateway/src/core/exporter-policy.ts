import { ExporterConfigSchema } from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { ServiceError } from "../../../services/kit/src/index.js";
import type { ExporterKind } from "../gateway-config.js";

/** Methods whose request carries an ExporterConfig in `config`. */
export const EXPORTER_CONFIG_METHODS = new Set([
	"taskmesh.telemetry.v1.ExporterRegistryService/RegisterExporter",
	"taskmesh.telemetry.v1.ExporterRegistryService/UpdateExporter",
]);

/**
 * Refuses exporter kinds callers may not register from outside. A module
 * exporter loads code into the telemetry service, and file and console
 * exporters write on its host; those are for operators, who reach the
 * registry on the internal mesh.
 */
export function checkExporterKind(request: object, allowed: readonly ExporterKind[]): void {
	const config = (request as { config?: { kind: { case: string | undefined } } }).config;
	const localName = config?.kind.case;
	if (localName === undefined) return;
	const kind = ExporterConfigSchema.fields.find((f) => f.localName === localName)?.name ?? localName;
	if (!(allowed as readonly string[]).includes(kind)) {
		const accepted = allowed.length === 0 ? "none" : allowed.join(", ");
		throw new ServiceError(
			"PERMISSION_DENIED",
			`config.${kind}: this kind of exporter cannot be registered through the gateway (allowed: ${accepted}; GATEWAY_EXPORTER_KINDS)`,
			{ reason: "EXPORTER_KIND_NOT_ALLOWED", metadata: { kind } },
		);
	}
}
