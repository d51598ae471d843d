import { InvalidExporterConfig } from "./exporter-errors.js";
import type { FilterSpec } from "./exporter-spec.js";
import {
	type Attributes,
	type AttributeValue,
	attributeOf,
	itemAttributes,
	type SignalName,
	serviceNameOf,
	type TelemetryItem,
} from "./model.js";
import { compilePattern, matchableText } from "./user-pattern.js";

/** The attribute that names a task on telemetry from a run. */
export const TASK_ID_ATTRIBUTE = "taskmesh.task_id";

/** Decides whether an item goes to an exporter. */
export type ItemFilter = (item: TelemetryItem) => boolean;

/**
 * Compiles a filter once per exporter build. Signals are narrowed to what the
 * exporter kind supports. An attribute is looked up on the item first, then on
 * its resource; a metric matches when any of its points does.
 */
export function compileFilter(spec: FilterSpec, supported: readonly SignalName[]): ItemFilter {
	const signals = new Set(
		spec.signals.length === 0 ? supported : spec.signals.filter((s) => supported.includes(s)),
	);
	const services = new Set(spec.services);
	const taskIds = new Set(spec.taskIds);
	const matchers = spec.attributes.map((match, index) => {
		const field = `config.filter.attributes[${index}]`;
		if (match.key === "") throw new InvalidExporterConfig(`${field}.key`, "must not be empty");
		if (match.pattern === "") return { key: match.key, test: (value: string) => value === match.equals };
		const regex = compilePattern(match.pattern, `${field}.pattern`);
		return { key: match.key, test: (value: string) => regex.test(matchableText(value)) };
	});
	return (item) => {
		if (!signals.has(item.signal)) return false;
		if (services.size > 0 && !services.has(serviceNameOf(item))) return false;
		const sets = itemAttributes(item);
		if (taskIds.size > 0 && !matchesAnySet(item, sets, TASK_ID_ATTRIBUTE, (v) => taskIds.has(v)))
			return false;
		for (const matcher of matchers) {
			if (!matchesAnySet(item, sets, matcher.key, matcher.test)) return false;
		}
		return true;
	};
}

function matchesAnySet(
	item: TelemetryItem,
	sets: Attributes[],
	key: string,
	test: (value: string) => boolean,
): boolean {
	for (const attributes of sets) {
		const value = attributeOf(attributes, key) ?? attributeOf(item.resource.attributes, key);
		if (value !== undefined && test(stringOf(value))) return true;
	}
	// A metric without points can still match on its resource.
	if (sets.length === 0) {
		const value = attributeOf(item.resource.attributes, key);
		return value !== undefined && test(stringOf(value));
	}
	return false;
}

/** The string an attribute value is compared as (numbers and booleans as written). */
export function stringOf(value: AttributeValue): string {
	if (typeof value === "string") return value;
	if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean")
		return String(value);
	if (value instanceof Uint8Array) return Buffer.from(value).toString("hex");
	return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}
