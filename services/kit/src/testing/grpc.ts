import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { pino } from "pino";
import { tracePropagation } from "../grpc/client.js";
import type { ServiceRegistration } from "../grpc/implementation.js";
import { GrpcServiceHost, type ReceiveWindows } from "../grpc/server.js";

/** A real gRPC server on a free loopback port, for tests. */
export function startTestServer(
	services: ServiceRegistration[],
	options: { drainTimeoutMs?: number; logger?: import("pino").Logger; receiveWindows?: ReceiveWindows } = {},
): Promise<GrpcServiceHost> {
	return GrpcServiceHost.start({
		host: "127.0.0.1",
		port: 0,
		services,
		logger: options.logger ?? pino({ level: "silent" }),
		drainTimeoutMs: options.drainTimeoutMs ?? 5_000,
		...(options.receiveWindows === undefined ? {} : { receiveWindows: options.receiveWindows }),
	});
}

/** A Connect gRPC client to a test server (a third-party client, like any caller). */
export function testClient<S extends DescService>(service: S, baseUrl: string): Client<S> {
	return createClient(service, createGrpcTransport({ baseUrl, interceptors: [tracePropagation] }));
}
