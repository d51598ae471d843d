import type { RedactionSpec } from "./exporter-spec.js";
import {
	type Attributes,
	type AttributeValue,
	newAttributes,
	type ResourceInfo,
	type TelemetryItem,
} from "./model.js";
import { compilePattern, MAX_MATCHED_TEXT_LENGTH } from "./user-pattern.js";

/** Returns a masked copy of an item; never changes the item it is given. */
export type Redactor = (item: TelemetryItem) => TelemetryItem;

/**
 * Compiles a redaction once per exporter build. Values of matching keys are
 * replaced whole (at any depth of a map); value patterns are replaced inside
 * every string value, a log body and a span's status message. Items are shared
 * by every exporter, so redaction copies instead of editing in place.
 */
export function compileRedaction(spec: RedactionSpec): Redactor | undefined {
	const keys = new Set(spec.keys);
	const keyPatterns = spec.keyPatterns.map((p, i) =>
		compilePattern(p, `config.redaction.key_patterns[${i}]`),
	);
	const valuePatterns = spec.valuePatterns.map((p, i) =>
		compilePattern(p, `config.redaction.value_patterns[${i}]`, "g"),
	);
	if (keys.size === 0 && keyPatterns.length === 0 && valuePatterns.length === 0) return undefined;
	const mask = spec.replacement;
	// A function replacer: a string one would read "$&" or "$'" as the matched (secret) text.
	const literalMask = () => mask;
	// Text too long to run patterns on safely cannot be checked, so it is masked whole.
	const tooLong = (text: string) => text.length > MAX_MATCHED_TEXT_LENGTH;
	const keyMasked = (key: string) =>
		keys.has(key) || (keyPatterns.length > 0 && (tooLong(key) || keyPatterns.some((p) => p.test(key))));
	const maskString = (text: string) => {
		if (valuePatterns.length === 0) return text;
		if (tooLong(text)) return mask;
		let out = text;
		for (const pattern of valuePatterns) out = out.replace(pattern, literalMask);
		return out;
	};
	const value = (v: AttributeValue): AttributeValue => {
		if (typeof v === "string") return maskString(v);
		if (Array.isArray(v)) return v.map(value);
		if (typeof v === "object" && !(v instanceof Uint8Array)) return attributes(v);
		return v;
	};
	const attributes = (attrs: Attributes): Attributes => {
		const out = newAttributes();
		for (const [key, v] of Object.entries(attrs)) out[key] = keyMasked(key) ? mask : value(v);
		return out;
	};
	// Resources are shared by many items: mask each once per batch.
	const resources = new WeakMap<ResourceInfo, ResourceInfo>();
	const resource = (r: ResourceInfo) => {
		let masked = resources.get(r);
		if (masked === undefined) {
			masked = { attributes: attributes(r.attributes) };
			resources.set(r, masked);
		}
		return masked;
	};
	return (item) => {
		switch (item.signal) {
			case "traces":
				return {
					...item,
					resource: resource(item.resource),
					attributes: attributes(item.attributes),
					statusMessage: maskString(item.statusMessage),
					events: item.events.map((e) => ({ ...e, attributes: attributes(e.attributes) })),
					links: item.links.map((l) => ({ ...l, attributes: attributes(l.attributes) })),
				};
			case "logs":
				return {
					...item,
					resource: resource(item.resource),
					attributes: attributes(item.attributes),
					body: item.body === undefined ? undefined : value(item.body),
				};
			case "metrics": {
				const data = item.data;
				const points =
					data.type === "histogram"
						? { ...data, points: data.points.map((p) => ({ ...p, attributes: attributes(p.attributes) })) }
						: { ...data, points: data.points.map((p) => ({ ...p, attributes: attributes(p.attributes) })) };
				return { ...item, resource: resource(item.resource), data: points };
			}
		}
	};
}
