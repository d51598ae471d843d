import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** A span as read from an OTLP protobuf ExportTraceServiceRequest. */
export interface DecodedOtlpSpan {
	name: string;
	traceId: string;
	/** String-valued attributes only (what the tests look at). */
	attributes: Record<string, string>;
}

/**
 * Reads span names, trace ids and string attributes out of an OTLP
 * ExportTraceServiceRequest (opentelemetry/proto/collector/trace/v1), with the
 * protobuf library's wire reader: request.1 resource_spans → 2 scope_spans →
 * 2 spans { 1 trace_id, 5 name, 9 attributes { 1 key, 2 value { 1 string_value } } }.
 * Unknown fields are skipped, as any protobuf reader would.
 */
export function decodeTraceRequest(bytes: Uint8Array): DecodedOtlpSpan[] {
	const spans: DecodedOtlpSpan[] = [];
	for (const resourceSpans of fields(bytes, 1)) {
		for (const scopeSpans of fields(resourceSpans, 2)) {
			for (const span of fields(scopeSpans, 2)) spans.push(decodeSpan(span));
		}
	}
	return spans;
}

function decodeSpan(bytes: Uint8Array): DecodedOtlpSpan {
	const span: DecodedOtlpSpan = { name: "", traceId: "", attributes: {} };
	const reader = new BinaryReader(bytes);
	while (reader.pos < reader.len) {
		const [field, wireType] = reader.tag();
		if (field === 1 && wireType === WireType.LengthDelimited)
			span.traceId = Buffer.from(reader.bytes()).toString("hex");
		else if (field === 5 && wireType === WireType.LengthDelimited) span.name = reader.string();
		else if (field === 9 && wireType === WireType.LengthDelimited) {
			const [key, value] = decodeKeyValue(reader.bytes());
			if (value !== undefined) span.attributes[key] = value;
		} else reader.skip(wireType, field);
	}
	return span;
}

function decodeKeyValue(bytes: Uint8Array): [string, string | undefined] {
	let key = "";
	let value: string | undefined;
	const reader = new BinaryReader(bytes);
	while (reader.pos < reader.len) {
		const [field, wireType] = reader.tag();
		if (field === 1 && wireType === WireType.LengthDelimited) key = reader.string();
		else if (field === 2 && wireType === WireType.LengthDelimited) {
			for (const text of fields(reader.bytes(), 1)) value = Buffer.from(text).toString("utf8");
		} else reader.skip(wireType, field);
	}
	return [key, value];
}

/** The payloads of every length-delimited occurrence of a field. */
function fields(bytes: Uint8Array, wanted: number): Uint8Array[] {
	const out: Uint8Array[] = [];
	const reader = new BinaryReader(bytes);
	while (reader.pos < reader.len) {
		const [field, wireType] = reader.tag();
		if (field === wanted && wireType === WireType.LengthDelimited) out.push(reader.bytes());
		else reader.skip(wireType, field);
	}
	return out;
}
