import type {
	DescMessage,
	DescMethod,
	DescMethodStreaming,
	DescMethodUnary,
	MessageShape,
} from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext, Transport } from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";
import { ServiceError } from "../../../services/kit/src/index.js";
import type { ApiKeyStore } from "../core/api-key-store.js";
import { scopeToEnvironment } from "../core/environment-scope.js";
import { checkExporterKind, EXPORTER_CONFIG_METHODS } from "../core/exporter-policy.js";
import { checkParentRun, parentRefField, type RunExists } from "../core/parent-run-check.js";
import type { Backend, PublicMethod } from "../core/public-surface.js";
import type { ExporterKind } from "../gateway-config.js";
import { liveGrant } from "./authentication.js";
import { grantKey } from "./call-context.js";
import { toConnectError } from "./connect-errors.js";
import type { RateGate } from "./rate-gate.js";

/** What the forwarding routes need. */
export interface ForwardingOptions {
	methods: readonly PublicMethod[];
	/** One gRPC transport per backend service. */
	transports: Record<Backend, Transport>;
	exporterKinds: readonly ExporterKind[];
	/** Whether a run exists in an environment (for requests naming a parent run). */
	runExists: RunExists;
	/**
	 * Takes a rate-limit token of the caller's key. The call took one already;
	 * each request of a bidirectional stream after the first takes its own, since
	 * each is a call's worth of work (a TriggerStream request is a trigger).
	 */
	rateGate: RateGate;
	/**
	 * The caller's key, checked again for each request of a bidirectional stream after
	 * the first: a key revoked while its TriggerStream was open went on triggering runs.
	 */
	keys: ApiKeyStore;
}

type AnyMessage = MessageShape<DescMessage>;

/**
 * Registers one route per public method. Each checks the request against the
 * caller's environment, then forwards it over gRPC with the caller's remaining
 * deadline, cancellation and trace context, and relays the answer or error.
 */
export function forwardingRoutes(options: ForwardingOptions): (router: ConnectRouter) => void {
	return (router) => {
		for (const entry of options.methods) {
			const transport = options.transports[entry.backend];
			const parentField = parentRefField(entry.method.input);
			const checksExporter = EXPORTER_CONFIG_METHODS.has(`${entry.service.typeName}/${entry.method.name}`);
			const prepare = (message: AnyMessage, ctx: HandlerContext) => {
				const grant = ctx.values.get(grantKey);
				// The authentication interceptor runs first on every route; no grant means a bug, not a caller.
				if (grant === undefined) throw new ServiceError("INTERNAL", "call reached a route unauthenticated");
				scopeToEnvironment(message, entry.environmentPaths, grant.environmentId);
				if (checksExporter) checkExporterKind(message, options.exporterKinds);
				return message;
			};
			const verify = async (message: AnyMessage, ctx: HandlerContext) => {
				const environmentId = ctx.values.get(grantKey)?.environmentId ?? "";
				if (parentField !== undefined) {
					await checkParentRun(message, parentField, environmentId, options.runExists, {
						timeoutMs: ctx.timeoutMs(),
						signal: ctx.signal,
					});
				}
			};
			const meter = async (ctx: HandlerContext) => {
				const grant = await liveGrant(options.keys, ctx.requestHeader.get("authorization"));
				await options.rateGate(grant);
			};
			router.rpc(
				entry.method as DescMethod,
				implementationOf(entry.method, transport, prepare, verify, meter) as never,
			);
		}
	};
}

type Prepare = (message: AnyMessage, ctx: HandlerContext) => AnyMessage;
type Verify = (message: AnyMessage, ctx: HandlerContext) => Promise<void>;
type Meter = (ctx: HandlerContext) => Promise<void>;

function implementationOf(
	method: DescMethod,
	transport: Transport,
	prepare: Prepare,
	verify: Verify,
	meter: Meter,
) {
	switch (method.methodKind) {
		case "unary": {
			const unary = method as DescMethodUnary;
			return async (request: AnyMessage, ctx: HandlerContext) => {
				try {
					prepare(request, ctx);
					await verify(request, ctx);
					const response = await withCallerTrace(ctx, () =>
						transport.unary(unary, ctx.signal, ctx.timeoutMs(), undefined, request),
					);
					return response.message;
				} catch (error) {
					throw toConnectError(error);
				}
			};
		}
		case "server_streaming": {
			const streaming = method as DescMethodStreaming;
			return async function* (request: AnyMessage, ctx: HandlerContext) {
				try {
					prepare(request, ctx);
					await verify(request, ctx);
					const response = await withCallerTrace(ctx, () =>
						transport.stream(streaming, ctx.signal, ctx.timeoutMs(), undefined, single(request)),
					);
					yield* response.message;
				} catch (error) {
					throw toConnectError(error);
				}
			};
		}
		case "client_streaming": {
			const streaming = method as DescMethodStreaming;
			return async (requests: AsyncIterable<AnyMessage>, ctx: HandlerContext) => {
				const refused: { error?: unknown } = {};
				try {
					const input = scoped(requests, (message) => prepare(message, ctx), refused);
					const response = await withCallerTrace(ctx, () =>
						transport.stream(streaming, ctx.signal, ctx.timeoutMs(), undefined, input),
					);
					let last: AnyMessage | undefined;
					for await (const message of response.message) last = message;
					if (last === undefined) throw new ServiceError("INTERNAL", "the service sent no response");
					return last;
				} catch (error) {
					// The transport reports a failed request stream in its own words; the caller gets ours.
					throw toConnectError(refused.error ?? error);
				}
			};
		}
		case "bidi_streaming": {
			// Each request is checked as it passes (as in a client stream); a parent
			// run could only be looked up with a round trip per message, so no method
			// whose requests name one is forwarded as a bidirectional stream.
			if (parentRefField(method.input) !== undefined) {
				throw new Error(
					`${method.parent.typeName}/${method.name}: a bidirectional stream naming a parent run is not forwarded`,
				);
			}
			const streaming = method as DescMethodStreaming;
			return async function* (requests: AsyncIterable<AnyMessage>, ctx: HandlerContext) {
				const refused: { error?: unknown } = {};
				try {
					let first = true;
					// A refused request ends the stream to the service cleanly, so every request
					// forwarded before it is carried out and answered; then the caller gets the
					// refusal. (Aborting instead could drop requests the service had not read yet,
					// and the caller could not tell which were made.)
					const input = scoped(
						requests,
						async (message) => {
							if (!first) await meter(ctx);
							first = false;
							return prepare(message, ctx);
						},
						refused,
						"end",
					);
					const response = await withCallerTrace(ctx, () =>
						transport.stream(streaming, ctx.signal, ctx.timeoutMs(), undefined, input),
					);
					yield* response.message;
					if (refused.error !== undefined) throw refused.error;
				} catch (error) {
					throw toConnectError(refused.error ?? error);
				}
			};
		}
	}
}

// Each message of a client stream is checked as it passes, so a message naming
// another environment ends the stream before the service sees it: by failing the
// stream to the service ("fail"), or by ending it there ("end"), the refusal kept for
// the caller.
async function* scoped(
	requests: AsyncIterable<AnyMessage>,
	check: (message: AnyMessage) => AnyMessage | Promise<AnyMessage>,
	refused: { error?: unknown },
	onRefusal: "fail" | "end" = "fail",
) {
	const iterator = requests[Symbol.asyncIterator]();
	for (;;) {
		let checked: AnyMessage;
		try {
			const next = await iterator.next();
			if (next.done === true) return;
			checked = await check(next.value);
		} catch (error) {
			// Also a malformed or oversized message from the caller: its code must survive.
			refused.error = error;
			if (onRefusal === "end") return;
			throw error;
		}
		yield checked;
	}
}

async function* single(message: AnyMessage) {
	yield message;
}

/** Runs a downstream call inside the trace the caller sent (traceparent/tracestate headers). */
function withCallerTrace<T>(ctx: HandlerContext, call: () => T): T {
	const parent = propagation.extract(context.active(), ctx.requestHeader, {
		keys: (headers) => [...headers.keys()],
		get: (headers, key) => headers.get(key) ?? undefined,
	});
	return context.with(parent, call);
}
