import type { HrTime, Attributes as OtelAttributes, AttributeValue as OtelValue } from "@opentelemetry/api";
import { TraceFlags } from "@opentelemetry/api";
import type { AnyValueMap } from "@opentelemetry/api-logs";
import { type Resource, resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableLogRecord } from "@opentelemetry/sdk-logs";
import {
	AggregationTemporality,
	DataPointType,
	type MetricData,
	type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type {
	Attributes,
	AttributeValue,
	LogItem,
	MetricItem,
	ResourceInfo,
	ScopeInfo,
	SpanItem,
} from "../core/model.js";

/**
 * Converts core items to the shapes the OpenTelemetry SDK's exporters take
 * (ReadableSpan, ReadableLogRecord, ResourceMetrics), so OTLP encoding stays
 * the libraries' job. One converter per batch caches resources.
 */
export class OtelShapes {
	private readonly resources = new WeakMap<ResourceInfo, Resource>();

	/** Spans as ReadableSpan. */
	spans(items: SpanItem[]): ReadableSpan[] {
		return items.map((s) => {
			const start = hrTime(s.startTimeUnixNano);
			const end = hrTime(s.endTimeUnixNano);
			const duration = hrTime(
				s.endTimeUnixNano > s.startTimeUnixNano ? s.endTimeUnixNano - s.startTimeUnixNano : 0n,
			);
			const context = { traceId: s.traceId, spanId: s.spanId, traceFlags: TraceFlags.SAMPLED };
			return {
				name: s.name,
				// OTLP numbers kinds from 1 (internal); the API from 0.
				kind: Math.max(0, s.kind - 1),
				spanContext: () => context,
				parentSpanContext:
					s.parentSpanId === ""
						? undefined
						: { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: TraceFlags.SAMPLED },
				startTime: start,
				endTime: end,
				duration,
				status: { code: s.statusCode, message: s.statusMessage === "" ? undefined : s.statusMessage },
				attributes: otelAttributes(s.attributes),
				links: s.links.map((l) => ({
					context: { traceId: l.traceId, spanId: l.spanId, traceFlags: TraceFlags.SAMPLED },
					attributes: otelAttributes(l.attributes),
				})),
				events: s.events.map((e) => ({
					name: e.name,
					time: hrTime(e.timeUnixNano),
					attributes: otelAttributes(e.attributes),
				})),
				ended: true,
				resource: this.resource(s.resource),
				instrumentationScope: scope(s.scope),
				droppedAttributesCount: 0,
				droppedEventsCount: 0,
				droppedLinksCount: 0,
			};
		});
	}

	/** Log records as ReadableLogRecord. */
	logs(items: LogItem[]): ReadableLogRecord[] {
		return items.map((r) => ({
			hrTime: hrTime(r.timeUnixNano),
			hrTimeObserved: hrTime(r.timeUnixNano),
			spanContext:
				r.traceId === ""
					? undefined
					: { traceId: r.traceId, spanId: r.spanId, traceFlags: TraceFlags.SAMPLED },
			severityText: r.severityText === "" ? undefined : r.severityText,
			severityNumber: r.severityNumber === 0 ? undefined : r.severityNumber,
			body: r.body === undefined ? undefined : (logValue(r.body) as ReadableLogRecord["body"]),
			resource: this.resource(r.resource),
			instrumentationScope: scope(r.scope),
			attributes: logValue(r.attributes) as AnyValueMap,
			droppedAttributesCount: 0,
		}));
	}

	/** Metrics as ResourceMetrics, grouped by resource and scope. */
	metrics(items: MetricItem[]): ResourceMetrics[] {
		const byResource = new Map<ResourceInfo, Map<ScopeInfo, MetricData[]>>();
		for (const item of items) {
			const scopes = byResource.get(item.resource) ?? new Map<ScopeInfo, MetricData[]>();
			byResource.set(item.resource, scopes);
			const list = scopes.get(item.scope) ?? [];
			scopes.set(item.scope, list);
			list.push(metricData(item));
		}
		return [...byResource].map(([resource, scopes]) => ({
			resource: this.resource(resource),
			scopeMetrics: [...scopes].map(([s, metrics]) => ({ scope: scope(s), metrics })),
		}));
	}

	private resource(info: ResourceInfo): Resource {
		let resource = this.resources.get(info);
		if (resource === undefined) {
			resource = resourceFromAttributes(otelAttributes(info.attributes));
			this.resources.set(info, resource);
		}
		return resource;
	}
}

function metricData(item: MetricItem): MetricData {
	const descriptor = { name: item.name, description: item.description, unit: item.unit, valueType: 1 };
	const data = item.data;
	const temporality = (cumulative: boolean) =>
		cumulative ? AggregationTemporality.CUMULATIVE : AggregationTemporality.DELTA;
	switch (data.type) {
		case "gauge":
		case "sum": {
			const dataPoints = data.points.map((p) => ({
				startTime: hrTime(p.startTimeUnixNano),
				endTime: hrTime(p.timeUnixNano),
				attributes: otelAttributes(p.attributes),
				value: Number(p.value),
			}));
			if (data.type === "gauge") {
				return {
					descriptor,
					aggregationTemporality: AggregationTemporality.CUMULATIVE,
					dataPointType: DataPointType.GAUGE,
					dataPoints,
				};
			}
			return {
				descriptor,
				aggregationTemporality: temporality(data.cumulative),
				dataPointType: DataPointType.SUM,
				isMonotonic: data.monotonic,
				dataPoints,
			};
		}
		case "histogram":
			return {
				descriptor,
				aggregationTemporality: temporality(data.cumulative),
				dataPointType: DataPointType.HISTOGRAM,
				dataPoints: data.points.map((p) => ({
					startTime: hrTime(p.startTimeUnixNano),
					endTime: hrTime(p.timeUnixNano),
					attributes: otelAttributes(p.attributes),
					value: {
						buckets: { boundaries: p.explicitBounds, counts: p.bucketCounts.map(Number) },
						sum: p.sum,
						count: Number(p.count),
					},
				})),
			};
	}
}

function scope(info: ScopeInfo) {
	return { name: info.name, version: info.version === "" ? undefined : info.version };
}

/** Nanoseconds since the epoch as [seconds, nanoseconds]. */
export function hrTime(nanos: bigint): HrTime {
	return [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
}

/**
 * Span and resource attributes in OpenTelemetry take primitives and flat
 * arrays only: maps travel as JSON text, bytes as base64, integers as numbers.
 */
export function otelAttributes(attributes: Attributes): OtelAttributes {
	// No prototype: an attribute keyed "__proto__" must be kept, not set the object's prototype.
	const out = Object.create(null) as OtelAttributes;
	for (const [key, value] of Object.entries(attributes)) out[key] = otelValue(value);
	return out;
}

function otelValue(value: AttributeValue): OtelValue {
	if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
	if (typeof value === "bigint") return Number(value);
	if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
	if (Array.isArray(value)) {
		return value.map((v) => {
			const flat = otelValue(v);
			return Array.isArray(flat) ? JSON.stringify(flat) : flat;
		}) as OtelValue;
	}
	return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v));
}

/** Log bodies and attributes keep nested maps, as the logs API allows. */
function logValue(value: AttributeValue): unknown {
	if (typeof value === "bigint") return Number(value);
	if (Array.isArray(value)) return value.map(logValue);
	if (typeof value === "object" && !(value instanceof Uint8Array)) {
		return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, logValue(v)]));
	}
	return value;
}
