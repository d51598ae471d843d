import type { DescMethod } from "@bufbuild/protobuf";
import {
	type CallOptions,
	ChannelCredentials,
	type Client,
	credentials,
	type ServiceError as GrpcError,
	makeGenericClientConstructor,
	status,
} from "@grpc/grpc-js";
import {
	type DescribeResponse,
	ExporterPluginService,
	type ExporterPluginServiceExportResponse,
	PluginExportResult,
	Signal,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { grpcServiceDefinition } from "../../../kit/src/grpc/service-definition.js";
import { ExportFailure, errorMessage } from "../core/exporter-errors.js";
import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import { ALL_SIGNALS, type SignalBatch, type SignalName } from "../core/model.js";
import { batchToProto } from "../proto/telemetry-to-proto.js";

/** Longest the first Describe may take while an exporter is registered. */
export const DESCRIBE_TIMEOUT_MS = 3_000;

type Unary = (
	request: unknown,
	options: CallOptions,
	done: (error: GrpcError | null, response: unknown) => void,
) => {
	cancel(): void;
};

const PluginClient = makeGenericClientConstructor(
	grpcServiceDefinition(ExporterPluginService),
	"ExporterPluginService",
);

/**
 * Calls an out-of-process exporter over gRPC (grpc-js, no tracing on these
 * calls, so the service's own spans never loop back through a plugin).
 */
class PluginSink implements ExporterSink {
	signals: readonly SignalName[] = ALL_SIGNALS;
	startupError: string | undefined;

	constructor(
		private readonly client: Client,
		private readonly address: string,
		private readonly exporterName: string,
		private readonly environmentId: string,
	) {}

	/** Asks which signals the plugin takes; a failure is kept as the startup error. */
	async describe(timeoutMs: number): Promise<void> {
		try {
			const response = (await this.call(
				ExporterPluginService.method.describe,
				{},
				timeoutMs,
			)) as DescribeResponse;
			const signals = response.signals.flatMap((s) => signalOf(s));
			this.signals = signals.length === 0 ? ALL_SIGNALS : signals;
		} catch (error) {
			this.startupError = `plugin at ${this.address} did not answer Describe: ${errorMessage(error)}`;
		}
	}

	async export(batch: SignalBatch, signal: AbortSignal): Promise<void> {
		const request = {
			exporterName: this.exporterName,
			environmentId: this.environmentId,
			...batchToProto(batch),
		};
		let response: ExporterPluginServiceExportResponse;
		try {
			response = (await this.call(
				ExporterPluginService.method.export,
				request,
				undefined,
				signal,
			)) as ExporterPluginServiceExportResponse;
		} catch (error) {
			const code = (error as GrpcError).code;
			const permanent =
				code === status.INVALID_ARGUMENT ||
				code === status.UNIMPLEMENTED ||
				code === status.PERMISSION_DENIED ||
				code === status.UNAUTHENTICATED;
			throw new ExportFailure(`plugin at ${this.address}: ${errorMessage(error)}`, !permanent);
		}
		switch (response.result) {
			case PluginExportResult.SUCCESS:
				return;
			case PluginExportResult.RETRYABLE_FAILURE:
				throw new ExportFailure(
					`plugin at ${this.address}: ${response.message || "retryable failure"}`,
					true,
				);
			default:
				throw new ExportFailure(
					`plugin at ${this.address}: ${response.message || "permanent failure"}`,
					false,
				);
		}
	}

	async shutdown(): Promise<void> {
		this.client.close();
	}

	private call(
		method: DescMethod,
		request: unknown,
		timeoutMs?: number,
		signal?: AbortSignal,
	): Promise<unknown> {
		const unary = (this.client as unknown as Record<string, Unary>)[method.localName] as Unary;
		return new Promise((resolve, reject) => {
			const options: CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
			const call = unary.call(this.client, request, options, (error, response) =>
				error ? reject(error) : resolve(response),
			);
			signal?.addEventListener("abort", () => call.cancel(), { once: true });
		});
	}
}

function signalOf(signal: Signal): SignalName[] {
	if (signal === Signal.TRACES) return ["traces"];
	if (signal === Signal.LOGS) return ["logs"];
	if (signal === Signal.METRICS) return ["metrics"];
	return [];
}

/**
 * An exporter in another process, any language, implementing
 * ExporterPluginService. A plugin that does not answer is still registered,
 * reported unhealthy with the error, and tried again on every batch.
 */
export const pluginFactory: SinkFactory<"plugin"> = {
	kind: "plugin",
	signals: ALL_SIGNALS,
	async create(target, spec, environmentId) {
		const channel = target.tls ? credentials.createSsl() : ChannelCredentials.createInsecure();
		const client = new PluginClient(target.address, channel);
		const sink = new PluginSink(client, target.address, spec.name, environmentId);
		await sink.describe(Math.min(spec.timeoutMs, DESCRIBE_TIMEOUT_MS));
		return sink;
	},
};
