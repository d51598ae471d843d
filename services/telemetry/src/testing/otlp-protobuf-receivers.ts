import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedHandleCall } from "@grpc/grpc-js";
import { type DecodedOtlpSpan, decodeTraceRequest } from "./otlp-protobuf-decoder.js";

/** Spans and raw bodies a receiver got. */
export interface OtlpReceiver {
	readonly spans: DecodedOtlpSpan[];
	readonly bodies: Buffer[];
	readonly url: string;
	close(): Promise<void>;
}

/** An OTLP/HTTP protobuf receiver on a free loopback port (answers 200 with an empty response). */
export async function startOtlpHttpProtobufReceiver(): Promise<OtlpReceiver> {
	const spans: DecodedOtlpSpan[] = [];
	const bodies: Buffer[] = [];
	const server: HttpServer = createServer((request, response) => {
		const chunks: Buffer[] = [];
		request.on("data", (chunk: Buffer) => chunks.push(chunk));
		request.on("end", () => {
			const body = Buffer.concat(chunks);
			bodies.push(body);
			if (request.url === "/v1/traces" && request.headers["content-type"] === "application/x-protobuf") {
				spans.push(...decodeTraceRequest(body));
			}
			response.writeHead(200, { "content-type": "application/x-protobuf" });
			response.end();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	return {
		spans,
		bodies,
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		close: () => {
			server.closeAllConnections();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
}

const TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** An OTLP/gRPC receiver (TraceService/Export only) on a free loopback port. */
export async function startOtlpGrpcReceiver(): Promise<OtlpReceiver> {
	const spans: DecodedOtlpSpan[] = [];
	const bodies: Buffer[] = [];
	const server = new Server();
	// Raw bytes in and out: the request is decoded by decodeTraceRequest, the
	// response is an empty ExportTraceServiceResponse (zero bytes).
	const definition: ServiceDefinition = {
		export: {
			path: TRACE_EXPORT,
			requestStream: false,
			responseStream: false,
			requestSerialize: (value: Buffer) => value,
			requestDeserialize: (bytes: Buffer) => bytes,
			responseSerialize: (value: Buffer) => value,
			responseDeserialize: (bytes: Buffer) => bytes,
		},
	};
	const handler: UntypedHandleCall = (call: { request: Buffer }, callback: (e: null, r: Buffer) => void) => {
		bodies.push(call.request);
		spans.push(...decodeTraceRequest(call.request));
		callback(null, Buffer.alloc(0));
	};
	server.addService(definition, { export: handler });
	const port = await new Promise<number>((resolve, reject) =>
		server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
			error ? reject(error) : resolve(bound),
		),
	);
	return {
		spans,
		bodies,
		url: `http://127.0.0.1:${port}`,
		close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
	};
}
