import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
	ExportRequestSchema,
	MetricSchema,
	ResourceLogsSchema,
	ResourceMetricsSchema,
	ResourceSpansSchema,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type { LogItem, MetricItem, ResourceInfo, ScopeInfo, SignalBatch, SpanItem } from "../core/model.js";
import { attributesToProto, valueToProto } from "./attribute-convert.js";

type Telemetry = Pick<
	MessageInitShape<typeof ExportRequestSchema>,
	"resourceSpans" | "resourceLogs" | "resourceMetrics"
>;

/** A batch as the proto model: items regrouped by resource, then by scope. */
export function batchToProto(batch: SignalBatch): Telemetry {
	switch (batch.signal) {
		case "traces":
			return { resourceSpans: group(batch.items).map(([resource, scopes]) => spansOf(resource, scopes)) };
		case "logs":
			return { resourceLogs: group(batch.items).map(([resource, scopes]) => logsOf(resource, scopes)) };
		case "metrics":
			return { resourceMetrics: group(batch.items).map(([resource, scopes]) => metricsOf(resource, scopes)) };
	}
}

function spansOf(
	resource: ResourceInfo,
	scopes: Map<ScopeInfo, SpanItem[]>,
): MessageInitShape<typeof ResourceSpansSchema> {
	return {
		resource: { attributes: attributesToProto(resource.attributes) },
		scopeSpans: [...scopes].map(([scope, spans]) => ({
			scope,
			spans: spans.map((s) => ({
				traceId: hex(s.traceId),
				spanId: hex(s.spanId),
				parentSpanId: hex(s.parentSpanId),
				name: s.name,
				kind: s.kind,
				startTimeUnixNano: s.startTimeUnixNano,
				endTimeUnixNano: s.endTimeUnixNano,
				attributes: attributesToProto(s.attributes),
				events: s.events.map((e) => ({ ...e, attributes: attributesToProto(e.attributes) })),
				links: s.links.map((l) => ({
					traceId: hex(l.traceId),
					spanId: hex(l.spanId),
					attributes: attributesToProto(l.attributes),
				})),
				statusCode: s.statusCode,
				statusMessage: s.statusMessage,
			})),
		})),
	};
}

function logsOf(
	resource: ResourceInfo,
	scopes: Map<ScopeInfo, LogItem[]>,
): MessageInitShape<typeof ResourceLogsSchema> {
	return {
		resource: { attributes: attributesToProto(resource.attributes) },
		scopeLogs: [...scopes].map(([scope, records]) => ({
			scope,
			logRecords: records.map((r) => ({
				timeUnixNano: r.timeUnixNano,
				severityNumber: r.severityNumber,
				severityText: r.severityText,
				body: r.body === undefined ? undefined : valueToProto(r.body),
				attributes: attributesToProto(r.attributes),
				traceId: hex(r.traceId),
				spanId: hex(r.spanId),
			})),
		})),
	};
}

function metricsOf(
	resource: ResourceInfo,
	scopes: Map<ScopeInfo, MetricItem[]>,
): MessageInitShape<typeof ResourceMetricsSchema> {
	return {
		resource: { attributes: attributesToProto(resource.attributes) },
		scopeMetrics: [...scopes].map(([scope, metrics]) => ({ scope, metrics: metrics.map(metricOf) })),
	};
}

function metricOf(m: MetricItem): MessageInitShape<typeof MetricSchema> {
	const head = { name: m.name, description: m.description, unit: m.unit };
	const data = m.data;
	const numberPoints = (points: typeof data.points) =>
		points.map((p) => {
			if (!("value" in p)) throw new TypeError("histogram point in a number metric");
			return {
				attributes: attributesToProto(p.attributes),
				startTimeUnixNano: p.startTimeUnixNano,
				timeUnixNano: p.timeUnixNano,
				value:
					typeof p.value === "bigint"
						? { case: "asInt" as const, value: p.value }
						: { case: "asDouble" as const, value: p.value },
			};
		});
	switch (data.type) {
		case "gauge":
			return { ...head, data: { case: "gauge", value: { dataPoints: numberPoints(data.points) } } };
		case "sum":
			return {
				...head,
				data: {
					case: "sum",
					value: {
						dataPoints: numberPoints(data.points),
						isMonotonic: data.monotonic,
						isCumulative: data.cumulative,
					},
				},
			};
		case "histogram":
			return {
				...head,
				data: {
					case: "histogram",
					value: {
						isCumulative: data.cumulative,
						dataPoints: data.points.map((p) => ({ ...p, attributes: attributesToProto(p.attributes) })),
					},
				},
			};
	}
}

function group<T extends { resource: ResourceInfo; scope: ScopeInfo }>(
	items: T[],
): Array<[ResourceInfo, Map<ScopeInfo, T[]>]> {
	const byResource = new Map<ResourceInfo, Map<ScopeInfo, T[]>>();
	for (const item of items) {
		let scopes = byResource.get(item.resource);
		if (scopes === undefined) {
			scopes = new Map();
			byResource.set(item.resource, scopes);
		}
		const list = scopes.get(item.scope);
		if (list === undefined) scopes.set(item.scope, [item]);
		else list.push(item);
	}
	return [...byResource];
}

function hex(id: string): Uint8Array {
	return Buffer.from(id, "hex");
}
