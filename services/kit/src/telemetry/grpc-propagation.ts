import type { Metadata } from "@grpc/grpc-js";
import { type Context, context, propagation, type TextMapGetter } from "@opentelemetry/api";

const metadataGetter: TextMapGetter<Metadata> = {
	keys: (carrier) => Object.keys(carrier.getMap()),
	get: (carrier, key) => {
		const values = carrier.get(key);
		if (values.length === 0) return undefined;
		return values.map((v) => (typeof v === "string" ? v : v.toString("utf8")));
	},
};

/** Reads the caller's trace context (W3C traceparent/tracestate) from gRPC metadata. */
export function extractTraceContext(metadata: Metadata): Context {
	return propagation.extract(context.active(), metadata, metadataGetter);
}

/** Writes the active trace context into outgoing headers of a downstream call. */
export function injectTraceContext(headers: Headers, from: Context = context.active()): void {
	propagation.inject(from, headers, {
		set: (carrier, key, value) => carrier.set(key, value),
	});
}
