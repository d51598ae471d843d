import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
	AnyValue,
	AnyValueSchema,
	KeyValue,
	KeyValueSchema,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { type Attributes, type AttributeValue, newAttributes } from "../core/model.js";

/** Deepest nesting of arrays and maps accepted in one attribute value. */
export const MAX_VALUE_DEPTH = 16;

/** Converts proto attributes; an unset value is left out, as OTLP readers do. */
export function attributesFromProto(list: readonly KeyValue[], depth = 0): Attributes {
	const out = newAttributes();
	for (const kv of list) {
		const value = kv.value === undefined ? undefined : valueFromProto(kv.value, depth);
		if (value !== undefined) out[kv.key] = value;
	}
	return out;
}

/** Converts one proto value; undefined when it holds nothing. */
export function valueFromProto(value: AnyValue, depth = 0): AttributeValue | undefined {
	if (depth > MAX_VALUE_DEPTH)
		throw new RangeError(`attribute values nest deeper than ${MAX_VALUE_DEPTH} levels`);
	const v = value.value;
	switch (v.case) {
		case "doubleValue":
			// NaN and ±Infinity have no JSON number (file, console and OTLP/JSON exporters), so they are refused.
			if (!Number.isFinite(v.value)) throw new RangeError(`double value ${v.value} is not a finite number`);
			return v.value;
		case "stringValue":
		case "boolValue":
		case "intValue":
		case "bytesValue":
			return v.value;
		case "arrayValue":
			return v.value.values.flatMap((item) => {
				const converted = valueFromProto(item, depth + 1);
				return converted === undefined ? [] : [converted];
			});
		case "kvlistValue":
			return attributesFromProto(v.value.values, depth + 1);
		default:
			return undefined;
	}
}

/** Converts attributes back to proto key-values. */
export function attributesToProto(attributes: Attributes): MessageInitShape<typeof KeyValueSchema>[] {
	return Object.entries(attributes).map(([key, value]) => ({ key, value: valueToProto(value) }));
}

/** Converts one value back to proto; numbers that are not bigint travel as doubles. */
export function valueToProto(value: AttributeValue): MessageInitShape<typeof AnyValueSchema> {
	if (typeof value === "string") return { value: { case: "stringValue", value } };
	if (typeof value === "boolean") return { value: { case: "boolValue", value } };
	if (typeof value === "bigint") return { value: { case: "intValue", value } };
	if (typeof value === "number") return { value: { case: "doubleValue", value } };
	if (value instanceof Uint8Array) return { value: { case: "bytesValue", value } };
	if (Array.isArray(value))
		return { value: { case: "arrayValue", value: { values: value.map(valueToProto) } } };
	return { value: { case: "kvlistValue", value: { values: attributesToProto(value) } } };
}
