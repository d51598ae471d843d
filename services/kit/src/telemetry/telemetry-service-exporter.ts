import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type Attributes, type AttributeValue, context, type HrTime } from "@opentelemetry/api";
import { type ExportResult, ExportResultCode, suppressTracing } from "@opentelemetry/core";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import {
	type AnyValueSchema,
	type KeyValueSchema,
	type ResourceSpansSchema,
	TelemetryService,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createServiceClient } from "../grpc/client.js";

/** The server span of the Export call itself: never exported, or every export would make another. */
export const TELEMETRY_EXPORT_SPAN_NAME = `${TelemetryService.typeName}/Export`;

/** Options of TelemetryServiceSpanExporter. */
export interface TelemetryServiceSpanExporterOptions {
	/** The telemetry service, for example "http://127.0.0.1:50055". */
	baseUrl: string;
	/** The environment the services' own spans are filed under. */
	environmentId: string;
	/** Longest one Export call may take. */
	timeoutMs?: number;
}

/**
 * An OpenTelemetry SpanExporter that sends this process's spans to the
 * telemetry service, so the services' own traces reach the same exporters as
 * everything else. Its calls run with tracing suppressed, and the telemetry
 * service's own Export spans are left out, so exporting never feeds itself.
 */
export class TelemetryServiceSpanExporter implements SpanExporter {
	private readonly client: Client<typeof TelemetryService>;
	private readonly pending = new Set<Promise<void>>();

	constructor(private readonly options: TelemetryServiceSpanExporterOptions) {
		this.client = createServiceClient(TelemetryService, { baseUrl: options.baseUrl });
	}

	export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
		const kept = spans.filter((span) => span.name !== TELEMETRY_EXPORT_SPAN_NAME);
		if (kept.length === 0) {
			done({ code: ExportResultCode.SUCCESS });
			return;
		}
		const request = { environmentId: this.options.environmentId, resourceSpans: resourceSpansOf(kept) };
		const call = context
			.with(suppressTracing(context.active()), () =>
				this.client.export(request, { timeoutMs: this.options.timeoutMs ?? 10_000 }),
			)
			.then(
				() => done({ code: ExportResultCode.SUCCESS }),
				(error: unknown) =>
					done({
						code: ExportResultCode.FAILED,
						error: error instanceof Error ? error : new Error(String(error)),
					}),
			)
			.finally(() => this.pending.delete(call));
		this.pending.add(call);
	}

	/** Waits for exports in flight. */
	async forceFlush(): Promise<void> {
		await Promise.all([...this.pending]);
	}

	async shutdown(): Promise<void> {
		await this.forceFlush();
	}
}

/** Groups SDK spans by resource and scope into the telemetry contract's model. */
export function resourceSpansOf(spans: ReadableSpan[]): MessageInitShape<typeof ResourceSpansSchema>[] {
	const byResource = new Map<ReadableSpan["resource"], Map<string, ReadableSpan[]>>();
	for (const span of spans) {
		const scopes = byResource.get(span.resource) ?? new Map<string, ReadableSpan[]>();
		byResource.set(span.resource, scopes);
		const key = `${span.instrumentationScope.name}\u0000${span.instrumentationScope.version ?? ""}`;
		const list = scopes.get(key) ?? [];
		scopes.set(key, list);
		list.push(span);
	}
	return [...byResource].map(([resource, scopes]) => ({
		resource: { attributes: keyValues(resource.attributes) },
		scopeSpans: [...scopes.values()].map((list) => ({
			scope: {
				name: list[0]?.instrumentationScope.name ?? "",
				version: list[0]?.instrumentationScope.version ?? "",
			},
			spans: list.map((span) => {
				const ids = span.spanContext();
				return {
					traceId: Buffer.from(ids.traceId, "hex"),
					spanId: Buffer.from(ids.spanId, "hex"),
					parentSpanId:
						span.parentSpanContext === undefined
							? new Uint8Array()
							: Buffer.from(span.parentSpanContext.spanId, "hex"),
					name: span.name,
					// The API numbers kinds from 0 (internal); the contract, like OTLP, from 1.
					kind: span.kind + 1,
					startTimeUnixNano: nanos(span.startTime),
					endTimeUnixNano: nanos(span.endTime),
					attributes: keyValues(span.attributes),
					events: span.events.map((e) => ({
						timeUnixNano: nanos(e.time),
						name: e.name,
						attributes: keyValues(e.attributes ?? {}),
					})),
					links: span.links.map((l) => ({
						traceId: Buffer.from(l.context.traceId, "hex"),
						spanId: Buffer.from(l.context.spanId, "hex"),
						attributes: keyValues(l.attributes ?? {}),
					})),
					// UNSET, OK, ERROR are 0, 1, 2 in the API and the contract alike.
					statusCode: span.status.code as number,
					statusMessage: span.status.message ?? "",
				};
			}),
		})),
	}));
}

function keyValues(attributes: Attributes): MessageInitShape<typeof KeyValueSchema>[] {
	const out: MessageInitShape<typeof KeyValueSchema>[] = [];
	for (const [key, value] of Object.entries(attributes)) {
		if (value !== undefined) out.push({ key, value: anyValue(value) });
	}
	return out;
}

function anyValue(value: AttributeValue | null | undefined): MessageInitShape<typeof AnyValueSchema> {
	if (typeof value === "string") return { value: { case: "stringValue", value } };
	if (typeof value === "boolean") return { value: { case: "boolValue", value } };
	if (typeof value === "number") {
		return Number.isInteger(value)
			? { value: { case: "intValue", value: BigInt(value) } }
			: { value: { case: "doubleValue", value } };
	}
	if (Array.isArray(value)) return { value: { case: "arrayValue", value: { values: value.map(anyValue) } } };
	return {};
}

function nanos([seconds, nanoseconds]: HrTime): bigint {
	return BigInt(seconds) * 1_000_000_000n + BigInt(nanoseconds);
}
