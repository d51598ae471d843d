import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
	status as GrpcStatus,
	type handleBidiStreamingCall,
	type handleClientStreamingCall,
	type handleServerStreamingCall,
	type handleUnaryCall,
	Metadata,
	type ServerDuplexStream,
	type ServerReadableStream,
	type ServerUnaryCall,
	type ServerWritableStream,
	type UntypedHandleCall,
} from "@grpc/grpc-js";
import { type Context, context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { toStatusObject } from "../errors/grpc-status.js";
import { ServiceError } from "../errors/service-error.js";
import { extractTraceContext } from "../telemetry/grpc-propagation.js";
import type { CallContext, ServiceRegistration } from "./implementation.js";
import { wellFormed } from "./malformed-request.js";
import { readRequests } from "./request-reader.js";

/** Tracks calls in flight and refuses new ones while the server drains. */
export interface CallGate {
	/**
	 * Registers a call; `stop` ends it with UNAVAILABLE if the drain runs out of
	 * time. Returns false when the server no longer takes calls.
	 */
	enter(stop: () => void): boolean;
	leave(stop: () => void): void;
	/** Aborted when the server begins to drain. */
	readonly draining: AbortSignal;
}

interface AnyCall {
	metadata: Metadata;
	getDeadline(): Date | number;
	getPeer(): string;
	on(event: "cancelled", listener: () => void): unknown;
}

type Impl = (input: unknown, ctx: CallContext) => unknown;

const tracer = trace.getTracer("taskmesh.kit.grpc");

/**
 * Turns a typed implementation into grpc-js handlers. Each call gets a server
 * span in the caller's trace, a CallContext with deadline and abort signal, and
 * an error mapping that never leaks an unexpected error's text.
 */
export function grpcHandlers(
	{ service, implementation }: ServiceRegistration,
	options: { logger: Logger; gate: CallGate },
): Record<string, UntypedHandleCall> {
	const handlers: Record<string, UntypedHandleCall> = {};
	const impls = implementation as Record<string, Impl | undefined>;
	for (const method of service.methods) {
		const impl = impls[method.localName];
		if (impl === undefined) continue;
		const bound = impl.bind(implementation);
		handlers[method.localName] = handlerFor(service, method, bound, options);
	}
	return handlers;
}

function handlerFor(
	service: DescService,
	method: DescMethod,
	impl: Impl,
	options: { logger: Logger; gate: CallGate },
): UntypedHandleCall {
	const path = `${service.typeName}/${method.name}`;
	const begin = (call: AnyCall) => startCall(path, call, options);
	switch (method.methodKind) {
		case "unary":
			return ((call: ServerUnaryCall<unknown, unknown>, callback) => {
				const started = begin(call);
				if (started === undefined) return callback(drainingStatus());
				started.run(
					async (ctx) => {
						const response = await impl(wellFormed(call.request), ctx);
						callback(null, response);
					},
					(status) => callback(status),
				);
			}) satisfies handleUnaryCall<unknown, unknown>;
		case "server_streaming":
			return ((call: ServerWritableStream<unknown, unknown>) => {
				const started = begin(call);
				if (started === undefined) return call.emit("error", drainingStatus());
				started.run(
					async (ctx) => {
						const responses = impl(wellFormed(call.request), ctx) as AsyncIterable<unknown>;
						for await (const response of responses) {
							if (ctx.signal.aborted) break;
							await write(call, response, ctx.signal);
						}
						call.end();
					},
					(status) => call.emit("error", status),
				);
			}) satisfies handleServerStreamingCall<unknown, unknown>;
		case "client_streaming":
			return ((call: ServerReadableStream<unknown, unknown>, callback) => {
				const started = begin(call);
				if (started === undefined) return callback(drainingStatus());
				started.run(
					async (ctx) => {
						const response = await impl(readRequests(call), ctx);
						callback(null, response);
					},
					(status) => callback(status),
				);
			}) satisfies handleClientStreamingCall<unknown, unknown>;
		case "bidi_streaming":
			return ((call: ServerDuplexStream<unknown, unknown>) => {
				const started = begin(call);
				if (started === undefined) return call.emit("error", drainingStatus());
				started.run(
					async (ctx) => {
						const responses = impl(readRequests(call), ctx) as AsyncIterable<unknown>;
						for await (const response of responses) {
							if (ctx.signal.aborted) break;
							await write(call, response, ctx.signal);
						}
						call.end();
					},
					(status) => call.emit("error", status),
				);
			}) satisfies handleBidiStreamingCall<unknown, unknown>;
	}
}

interface StartedCall {
	run(
		body: (ctx: CallContext) => Promise<void>,
		fail: (status: ReturnType<typeof toStatusObject>) => void,
	): void;
}

function startCall(
	path: string,
	call: AnyCall,
	options: { logger: Logger; gate: CallGate },
): StartedCall | undefined {
	const abort = new AbortController();
	let settled = false;
	let failCall: ((status: ReturnType<typeof toStatusObject>) => void) | undefined;
	const stop = () => {
		abort.abort(new ServiceError("UNAVAILABLE", "the server stopped before the call finished"));
		if (!settled && failCall !== undefined) {
			settled = true;
			failCall(
				toStatusObject(new ServiceError("UNAVAILABLE", "the server stopped before the call finished; retry")),
			);
		}
	};
	if (!options.gate.enter(stop)) return undefined;
	// grpc-js reports "cancelled" for calls that already finished too; building an
	// error (with its stack) and aborting then was measurable on every unary call.
	call.on("cancelled", () => {
		if (!settled && !abort.signal.aborted) {
			abort.abort(new ServiceError("CANCELLED", "the call was cancelled"));
		}
	});
	const rawDeadline = call.getDeadline();
	const deadline =
		rawDeadline instanceof Date
			? rawDeadline
			: Number.isFinite(rawDeadline)
				? new Date(rawDeadline)
				: undefined;
	const parent: Context = extractTraceContext(call.metadata);
	const span = tracer.startSpan(
		path,
		{
			kind: SpanKind.SERVER,
			attributes: { "rpc.system": "grpc", "rpc.method": path },
		},
		parent,
	);
	const spanContext = span.spanContext();
	const logger = options.logger.child({ rpc: path, trace_id: spanContext.traceId });
	const ctx: CallContext = {
		method: path,
		signal: abort.signal,
		deadline,
		metadata: call.metadata,
		peer: call.getPeer(),
		logger,
		draining: options.gate.draining,
	};
	return {
		run(body, fail) {
			failCall = fail;
			context
				.with(trace.setSpan(parent, span), () => body(ctx))
				.catch((error: unknown) => {
					if (settled) return;
					settled = true;
					const status = toStatusObject(error);
					if (status.code === GrpcStatus.INTERNAL) {
						logger.error({ err: error }, "unexpected error in handler");
					}
					span.setStatus({ code: SpanStatusCode.ERROR, message: status.details });
					fail(status);
				})
				.finally(() => {
					settled = true;
					span.end();
					options.gate.leave(stop);
				});
		},
	};
}

function drainingStatus() {
	return toStatusObject(
		new ServiceError("UNAVAILABLE", "the server is shutting down; retry on another replica"),
	);
}

interface Writable {
	write(message: unknown): boolean;
	once(event: "drain", listener: () => void): unknown;
	off(event: "drain", listener: () => void): unknown;
}

/**
 * Writes one message; when the stream's buffer is full, waits for it to drain
 * (or for the call to end) so a slow client cannot make the server buffer
 * without bound.
 */
function write(call: Writable, message: unknown, signal: AbortSignal): Promise<void> {
	if (call.write(message)) return Promise.resolve();
	return new Promise<void>((resolve) => {
		const done = () => {
			call.off("drain", done);
			signal.removeEventListener("abort", done);
			resolve();
		};
		call.once("drain", done);
		signal.addEventListener("abort", done, { once: true });
	});
}

export { Metadata };
