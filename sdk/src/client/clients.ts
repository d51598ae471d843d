import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BatchService } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { LogIngestService } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	ExporterRegistryService,
	TelemetryService,
} from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { type ClientConfig, environmentOf, isGateway, type ServiceUrls } from "./config.js";
import { ConfigurationError } from "./errors.js";
import { RunTriggers } from "./run-triggers.js";

/**
 * The services' gRPC message limit (the kit's GRPC_MAX_RECEIVE_MESSAGE_BYTES). A
 * request over it is refused here, before it is sent, with RESOURCE_EXHAUSTED naming
 * the limit: sent, the server resets the HTTP/2 connection and every later call on
 * it fails, heartbeats included.
 */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const limits = { writeMaxBytes: MAX_MESSAGE_BYTES, readMaxBytes: MAX_MESSAGE_BYTES };

/** One generated client per service the SDK talks to, and the environment to name. */
export interface Clients {
	environmentId: string;
	scheduler: Client<typeof SchedulerService>;
	batch: Client<typeof BatchService>;
	logs: Client<typeof LogIngestService>;
	telemetry: Client<typeof TelemetryService>;
	exporters: Client<typeof ExporterRegistryService>;
	queue: Client<typeof QueueService>;
	/** TriggerRun for this client: over one TriggerStream for a run without a parent. */
	triggers: RunTriggers;
}

/**
 * Builds the clients for a config. Through the gateway every call carries the
 * API key; the transport is Connect over HTTP/2 so the worker's bidi Consume
 * stream works on the same URL as unary calls.
 */
export function createClients(config: ClientConfig): Clients {
	if (isGateway(config)) {
		if (config.apiKey === "") {
			throw new ConfigurationError(
				"apiKey: no API key configured; pass configure({ url, apiKey }) or set TASKMESH_API_KEY",
			);
		}
		checkUrl("url", config.url);
		const auth: Interceptor = (next) => (request) => {
			request.header.set("authorization", `Bearer ${config.apiKey}`);
			return next(request);
		};
		const transport = createConnectTransport({
			baseUrl: config.url,
			httpVersion: "2",
			interceptors: [auth],
			...limits,
		});
		return bag(environmentOf(config), () => transport);
	}
	const urls = config.services;
	for (const [name, url] of Object.entries(urls)) checkUrl(`services.${name}`, url);
	const transports = new Map<keyof ServiceUrls, Transport>();
	const transportFor = (name: keyof ServiceUrls): Transport => {
		let transport = transports.get(name);
		if (transport === undefined) {
			transport = createGrpcTransport({ baseUrl: urls[name], ...limits });
			transports.set(name, transport);
		}
		return transport;
	};
	return bag(environmentOf(config), transportFor);
}

function bag(environmentId: string, transportFor: (name: keyof ServiceUrls) => Transport): Clients {
	const make = <S extends DescService>(service: S, name: keyof ServiceUrls) =>
		createClient(service, transportFor(name));
	const scheduler = make(SchedulerService, "scheduler");
	return {
		environmentId,
		scheduler,
		batch: make(BatchService, "batch"),
		logs: make(LogIngestService, "logs"),
		telemetry: make(TelemetryService, "telemetry"),
		exporters: make(ExporterRegistryService, "telemetry"),
		queue: make(QueueService, "queue"),
		triggers: new RunTriggers({ scheduler, maxMessageBytes: MAX_MESSAGE_BYTES }),
	};
}

function checkUrl(field: string, value: string): void {
	try {
		const url = new URL(value);
		if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http");
	} catch {
		throw new ConfigurationError(`${field}: "${value}" is not an http:// or https:// URL`);
	}
}
