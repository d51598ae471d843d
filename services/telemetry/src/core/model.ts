/**
 * The telemetry model the core works on: one item per span, log record or
 * metric, each carrying its resource and scope, so filters, redaction and
 * batching look at one item at a time. Close to OTLP, free of protobuf.
 */

/** An attribute value: integers are bigint so they survive a round trip as integers. */
export type AttributeValue =
	| string
	| boolean
	| number
	| bigint
	| Uint8Array
	| AttributeValue[]
	| { [key: string]: AttributeValue };

/**
 * Attributes by key. Maps the service builds have no prototype, so a key such as
 * "__proto__" is an ordinary attribute; read them with attributeOf.
 */
export type Attributes = Record<string, AttributeValue>;

/** An empty attribute map without a prototype (a "__proto__" key is stored, not followed). */
export function newAttributes(): Attributes {
	return Object.create(null) as Attributes;
}

/** The item's own value of a key; never one inherited from a prototype. */
export function attributeOf(attributes: Attributes, key: string): AttributeValue | undefined {
	return Object.hasOwn(attributes, key) ? attributes[key] : undefined;
}

/** What produced the telemetry. */
export interface ResourceInfo {
	attributes: Attributes;
}

/** The library that produced it. */
export interface ScopeInfo {
	name: string;
	version: string;
}

/** The kinds of telemetry. */
export type SignalName = "traces" | "logs" | "metrics";

/** Every signal, in a fixed order. */
export const ALL_SIGNALS: readonly SignalName[] = ["traces", "logs", "metrics"];

/** An event inside a span. */
export interface SpanEventItem {
	timeUnixNano: bigint;
	name: string;
	attributes: Attributes;
}

/** A link to another span. */
export interface SpanLinkItem {
	traceId: string;
	spanId: string;
	attributes: Attributes;
}

/** One span; ids are lower-case hex. */
export interface SpanItem {
	signal: "traces";
	resource: ResourceInfo;
	scope: ScopeInfo;
	traceId: string;
	spanId: string;
	/** Empty for a root span. */
	parentSpanId: string;
	name: string;
	/** 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer (as OTLP). */
	kind: number;
	startTimeUnixNano: bigint;
	endTimeUnixNano: bigint;
	attributes: Attributes;
	events: SpanEventItem[];
	links: SpanLinkItem[];
	/** 0 unset, 1 ok, 2 error (as OTLP). */
	statusCode: number;
	statusMessage: string;
}

/** One log record. */
export interface LogItem {
	signal: "logs";
	resource: ResourceInfo;
	scope: ScopeInfo;
	timeUnixNano: bigint;
	severityNumber: number;
	severityText: string;
	body: AttributeValue | undefined;
	attributes: Attributes;
	/** Empty when not logged inside a span. */
	traceId: string;
	spanId: string;
}

/** One point of a gauge or sum. */
export interface NumberPoint {
	attributes: Attributes;
	startTimeUnixNano: bigint;
	timeUnixNano: bigint;
	value: number | bigint;
}

/** One point of a histogram. */
export interface HistogramPoint {
	attributes: Attributes;
	startTimeUnixNano: bigint;
	timeUnixNano: bigint;
	count: bigint;
	sum: number;
	bucketCounts: bigint[];
	explicitBounds: number[];
}

/** The data of a metric. */
export type MetricData =
	| { type: "gauge"; points: NumberPoint[] }
	| { type: "sum"; points: NumberPoint[]; monotonic: boolean; cumulative: boolean }
	| { type: "histogram"; points: HistogramPoint[]; cumulative: boolean };

/** One metric with its points. */
export interface MetricItem {
	signal: "metrics";
	resource: ResourceInfo;
	scope: ScopeInfo;
	name: string;
	description: string;
	unit: string;
	data: MetricData;
}

/** Any item of telemetry. */
export type TelemetryItem = SpanItem | LogItem | MetricItem;

/** Items of one signal, as an exporter receives them. */
export type SignalBatch =
	| { signal: "traces"; items: SpanItem[] }
	| { signal: "logs"; items: LogItem[] }
	| { signal: "metrics"; items: MetricItem[] };

/** Attributes an item is filtered and redacted on (a metric's are its points'). */
export function itemAttributes(item: TelemetryItem): Attributes[] {
	if (item.signal !== "metrics") return [item.attributes];
	return item.data.points.map((point) => point.attributes);
}

/** The resource's service.name, or "" when it has none. */
export function serviceNameOf(item: TelemetryItem): string {
	const value = attributeOf(item.resource.attributes, "service.name");
	return typeof value === "string" ? value : "";
}

/** Data points of a metric (1 per span or log record), for accepted counts. */
export function dataPointCount(item: MetricItem): number {
	return item.data.points.length;
}
