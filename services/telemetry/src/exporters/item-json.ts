import type { AttributeValue, TelemetryItem } from "../core/model.js";

/**
 * An item as plain JSON for the console and file exporters: 64-bit numbers as
 * decimal strings (as OTLP/JSON writes them), bytes as base64.
 */
export function itemToJson(item: TelemetryItem): Record<string, unknown> {
	return JSON.parse(JSON.stringify(item, replacer)) as Record<string, unknown>;
}

/** A JSON.stringify replacer for items. */
export function replacer(_key: string, value: unknown): unknown {
	if (typeof value === "bigint") return value.toString();
	if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
	return value;
}

/** One JSON line for an item. */
export function itemLine(item: TelemetryItem): string {
	return JSON.stringify(item, replacer);
}

/** True for a value that is a map of attributes. */
export function isAttributeMap(value: AttributeValue): value is { [key: string]: AttributeValue } {
	return typeof value === "object" && !Array.isArray(value) && !(value instanceof Uint8Array);
}
