import { durationFromMs } from "@bufbuild/protobuf/wkt";
import type { ExporterRegistryService } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { ServiceError, type ServiceImplementation } from "../../../kit/src/index.js";
import { errorMessage } from "../core/exporter-errors.js";
import type { ExporterFanout } from "../core/exporter-fanout.js";
import type { ExporterRegistry } from "../registry/exporter-registry.js";
import type { StoredExporter } from "../registry/exporter-store.js";
import { exporterToProto } from "./exporter-to-proto.js";
import { environmentIdOf, nameOf } from "./request-checks.js";
import { testSpanBatch } from "./test-span.js";

/** Options of the ExporterRegistryService handlers. */
export interface RegistryServiceOptions {
	registry: ExporterRegistry;
	fanout: ExporterFanout;
}

/** ExporterRegistryService: thin adapters over ExporterRegistry. */
export function registryService({
	registry,
	fanout,
}: RegistryServiceOptions): ServiceImplementation<typeof ExporterRegistryService> {
	const view = (stored: StoredExporter) => exporterToProto(stored, fanout.status(stored.id));
	return {
		async registerExporter(request) {
			const environmentId = environmentIdOf(request);
			if (request.config === undefined) throw ServiceError.invalidField("config", "is required");
			return { exporter: view(await registry.register(environmentId, request.config)) };
		},
		async listExporters(request) {
			const stored = await registry.list(environmentIdOf(request));
			return { exporters: stored.map(view) };
		},
		async getExporter(request) {
			return { exporter: view(await registry.get(environmentIdOf(request), nameOf(request))) };
		},
		async updateExporter(request) {
			const environmentId = environmentIdOf(request);
			const name = nameOf(request);
			if (request.config === undefined) throw ServiceError.invalidField("config", "is required");
			const expected = request.expectedRevision === 0n ? undefined : Number(request.expectedRevision);
			return { exporter: view(await registry.update(environmentId, name, request.config, expected)) };
		},
		async deleteExporter(request) {
			await registry.delete(environmentIdOf(request), nameOf(request));
			return {};
		},
		async testExporter(request) {
			const stored = await registry.get(environmentIdOf(request), nameOf(request));
			const started = performance.now();
			try {
				await fanout.probe(stored.id, testSpanBatch(stored.environmentId, stored.name));
				return { ok: true, latency: durationFromMs(Math.round(performance.now() - started)) };
			} catch (error) {
				return {
					ok: false,
					error: errorMessage(error),
					latency: durationFromMs(Math.round(performance.now() - started)),
				};
			}
		},
	};
}
