import type {
	ExportRequest,
	HistogramDataPoint,
	InstrumentationScope,
	Metric,
	NumberDataPoint,
	Resource,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type {
	HistogramPoint,
	LogItem,
	MetricData,
	MetricItem,
	NumberPoint,
	ResourceInfo,
	ScopeInfo,
	SpanItem,
	TelemetryItem,
} from "../core/model.js";
import { attributesFromProto, valueFromProto } from "./attribute-convert.js";

/** A request field that is not acceptable; the rpc layer turns it into INVALID_ARGUMENT. */
export class InvalidTelemetry extends Error {
	override readonly name = "InvalidTelemetry";
	constructor(
		readonly field: string,
		readonly description: string,
	) {
		super(`${field}: ${description}`);
	}
}

/** Items of an Export request, with counts by kind. */
export interface ConvertedTelemetry {
	items: TelemetryItem[];
	spans: number;
	logRecords: number;
	dataPoints: number;
	/**
	 * What TELEMETRY_MAX_EXPORT_ITEMS counts: spans, log records and data points,
	 * with a metric that has no points counted as one (it still costs work).
	 */
	limitedItems: number;
}

/**
 * Converts an Export request to core items, checking id lengths. Items of one
 * resource and scope share those objects, which keeps redaction and plugin
 * regrouping cheap.
 */
export function telemetryFromProto(request: ExportRequest): ConvertedTelemetry {
	const out: ConvertedTelemetry = { items: [], spans: 0, logRecords: 0, dataPoints: 0, limitedItems: 0 };
	request.resourceSpans.forEach((rs, r) => {
		const resource = resourceOf(rs.resource, `resource_spans[${r}]`);
		rs.scopeSpans.forEach((ss, s) => {
			const scope = scopeOf(ss.scope);
			ss.spans.forEach((span, i) => {
				const field = `resource_spans[${r}].scope_spans[${s}].spans[${i}]`;
				const item: SpanItem = {
					signal: "traces",
					resource,
					scope,
					traceId: id(span.traceId, 16, `${field}.trace_id`, false),
					spanId: id(span.spanId, 8, `${field}.span_id`, false),
					parentSpanId: id(span.parentSpanId, 8, `${field}.parent_span_id`, true),
					name: span.name,
					kind: inRange(
						span.kind,
						SPAN_KIND_MAX,
						`${field}.kind`,
						"0 to 5 (unspecified, internal, server, client, producer, consumer)",
					),
					startTimeUnixNano: span.startTimeUnixNano,
					endTimeUnixNano: endTime(
						span.startTimeUnixNano,
						span.endTimeUnixNano,
						`${field}.end_time_unix_nano`,
					),
					attributes: attrs(span.attributes, `${field}.attributes`),
					events: span.events.map((e, j) => ({
						timeUnixNano: e.timeUnixNano,
						name: e.name,
						attributes: attrs(e.attributes, `${field}.events[${j}].attributes`),
					})),
					links: span.links.map((l, j) => ({
						traceId: id(l.traceId, 16, `${field}.links[${j}].trace_id`, false),
						spanId: id(l.spanId, 8, `${field}.links[${j}].span_id`, false),
						attributes: attrs(l.attributes, `${field}.links[${j}].attributes`),
					})),
					statusCode: inRange(
						span.statusCode,
						STATUS_CODE_MAX,
						`${field}.status_code`,
						"0 to 2 (unset, ok, error)",
					),
					statusMessage: span.statusMessage,
				};
				out.items.push(item);
				out.spans += 1;
				out.limitedItems += 1;
			});
		});
	});
	request.resourceLogs.forEach((rl, r) => {
		const resource = resourceOf(rl.resource, `resource_logs[${r}]`);
		rl.scopeLogs.forEach((sl, s) => {
			const scope = scopeOf(sl.scope);
			sl.logRecords.forEach((record, i) => {
				const field = `resource_logs[${r}].scope_logs[${s}].log_records[${i}]`;
				const item: LogItem = {
					signal: "logs",
					resource,
					scope,
					timeUnixNano: record.timeUnixNano,
					severityNumber: inRange(
						record.severityNumber,
						SEVERITY_NUMBER_MAX,
						`${field}.severity_number`,
						"0 (unspecified) to 24",
					),
					severityText: record.severityText,
					body:
						record.body === undefined
							? undefined
							: guard(`${field}.body`, () => valueFromProto(record.body as never)),
					attributes: attrs(record.attributes, `${field}.attributes`),
					traceId: id(record.traceId, 16, `${field}.trace_id`, true),
					spanId: id(record.spanId, 8, `${field}.span_id`, true),
				};
				out.items.push(item);
				out.logRecords += 1;
				out.limitedItems += 1;
			});
		});
	});
	request.resourceMetrics.forEach((rm, r) => {
		const resource = resourceOf(rm.resource, `resource_metrics[${r}]`);
		rm.scopeMetrics.forEach((sm, s) => {
			const scope = scopeOf(sm.scope);
			sm.metrics.forEach((metric, i) => {
				const field = `resource_metrics[${r}].scope_metrics[${s}].metrics[${i}]`;
				const data = metricData(metric, field);
				const item: MetricItem = {
					signal: "metrics",
					resource,
					scope,
					name: metric.name,
					description: metric.description,
					unit: metric.unit,
					data,
				};
				out.items.push(item);
				out.dataPoints += data.points.length;
				out.limitedItems += Math.max(1, data.points.length);
			});
		});
	});
	return out;
}

function metricData(metric: Metric, field: string): MetricData {
	const data = metric.data;
	switch (data.case) {
		case "gauge":
			return {
				type: "gauge",
				points: data.value.dataPoints.map((p, i) => numberPoint(p, `${field}.gauge.data_points[${i}]`)),
			};
		case "sum":
			return {
				type: "sum",
				monotonic: data.value.isMonotonic,
				cumulative: data.value.isCumulative,
				points: data.value.dataPoints.map((p, i) => numberPoint(p, `${field}.sum.data_points[${i}]`)),
			};
		case "histogram":
			return {
				type: "histogram",
				cumulative: data.value.isCumulative,
				points: data.value.dataPoints.map((p, i) =>
					histogramPoint(p, `${field}.histogram.data_points[${i}]`),
				),
			};
		default:
			throw new InvalidTelemetry(`${field}.data`, "one of gauge, sum or histogram is required");
	}
}

function numberPoint(point: NumberDataPoint, field: string): NumberPoint {
	const value = point.value;
	if (value.case === undefined)
		throw new InvalidTelemetry(`${field}.value`, "as_double or as_int is required");
	return {
		attributes: attrs(point.attributes, `${field}.attributes`),
		startTimeUnixNano: point.startTimeUnixNano,
		timeUnixNano: point.timeUnixNano,
		value: value.value,
	};
}

function histogramPoint(point: HistogramDataPoint, field: string): HistogramPoint {
	if (point.bucketCounts.length !== point.explicitBounds.length + 1 && point.bucketCounts.length !== 0) {
		throw new InvalidTelemetry(
			`${field}.bucket_counts`,
			`${point.bucketCounts.length} counts for ${point.explicitBounds.length} bounds; expected one more count than bounds`,
		);
	}
	return {
		attributes: attrs(point.attributes, `${field}.attributes`),
		startTimeUnixNano: point.startTimeUnixNano,
		timeUnixNano: point.timeUnixNano,
		count: point.count,
		sum: point.sum,
		bucketCounts: [...point.bucketCounts],
		explicitBounds: [...point.explicitBounds],
	};
}

function resourceOf(resource: Resource | undefined, field: string): ResourceInfo {
	return { attributes: attrs(resource?.attributes ?? [], `${field}.resource.attributes`) };
}

function scopeOf(scope: InstrumentationScope | undefined): ScopeInfo {
	return { name: scope?.name ?? "", version: scope?.version ?? "" };
}

function attrs(list: Parameters<typeof attributesFromProto>[0], field: string) {
	return guard(field, () => attributesFromProto(list));
}

function guard<T>(field: string, convert: () => T): T {
	try {
		return convert();
	} catch (error) {
		throw new InvalidTelemetry(field, (error as Error).message);
	}
}

/** Highest span kind (consumer), status code (error) and log severity number (FATAL4), as OTLP. */
const SPAN_KIND_MAX = 5;
const STATUS_CODE_MAX = 2;
const SEVERITY_NUMBER_MAX = 24;

function inRange(value: number, max: number, field: string, allowed: string): number {
	if (!(value >= 0 && value <= max)) throw new InvalidTelemetry(field, `${value} is not one of ${allowed}`);
	return value;
}

function endTime(start: bigint, end: bigint, field: string): bigint {
	if (end < start) throw new InvalidTelemetry(field, `${end} is before start_time_unix_nano ${start}`);
	return end;
}

/**
 * An id as lower-case hex. All zero bytes is OTLP's invalid id: refused where an
 * id is required, read as "none" where it is optional (a root span's parent, a
 * log record outside a span), as OTLP receivers do.
 */
function id(bytes: Uint8Array, length: number, field: string, optional: boolean): string {
	if (bytes.length === 0 && optional) return "";
	if (bytes.length !== length) {
		throw new InvalidTelemetry(
			field,
			`${bytes.length} bytes; expected exactly ${length}${optional ? " or none" : ""}`,
		);
	}
	if (bytes.every((b) => b === 0)) {
		if (optional) return "";
		throw new InvalidTelemetry(field, "all zero bytes is not a valid id");
	}
	return Buffer.from(bytes).toString("hex");
}
