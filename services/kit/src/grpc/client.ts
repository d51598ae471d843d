import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { injectTraceContext } from "../telemetry/grpc-propagation.js";

const tracer = trace.getTracer("taskmesh.kit.client");

/**
 * Starts a client span per call and writes the trace context into the request
 * headers, so the callee's server span joins the caller's trace.
 */
export const tracePropagation: Interceptor = (next) => async (request) => {
	const span = tracer.startSpan(`${request.service.typeName}/${request.method.name}`, {
		kind: SpanKind.CLIENT,
		attributes: { "rpc.system": "grpc" },
	});
	const callContext = trace.setSpan(context.active(), span);
	injectTraceContext(request.header, callContext);
	try {
		return await context.with(callContext, () => next(request));
	} catch (error) {
		span.setStatus({ code: SpanStatusCode.ERROR, message: String(error) });
		throw error;
	} finally {
		span.end();
	}
};

/** Options of a service-to-service client. */
export interface ServiceClientOptions {
	/** For example "http://127.0.0.1:50051". */
	baseUrl: string;
	/** Extra interceptors, after trace propagation. */
	interceptors?: Interceptor[];
}

/**
 * The gRPC transport to another taskmesh service (one HTTP/2 connection, trace
 * propagation first among its interceptors), for clients that share it.
 */
export function createServiceTransport(options: ServiceClientOptions): Transport {
	return createGrpcTransport({
		baseUrl: options.baseUrl,
		interceptors: [tracePropagation, ...(options.interceptors ?? [])],
	});
}

/**
 * A gRPC client for another taskmesh service, built from its generated
 * descriptor (how one service calls another). Pass `{ timeoutMs }` per call
 * from the caller's deadline so deadlines propagate.
 */
export function createServiceClient<S extends DescService>(
	service: S,
	options: ServiceClientOptions | Transport,
): Client<S> {
	return createClient(service, "baseUrl" in options ? createServiceTransport(options) : options);
}

/** The time left before a deadline, for a downstream call's timeoutMs. */
export function timeoutFrom(deadline: Date | undefined): number | undefined {
	if (deadline === undefined) return undefined;
	return Math.max(1, deadline.getTime() - Date.now());
}
