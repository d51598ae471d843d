import { InvalidExporterConfig } from "../core/exporter-errors.js";

/**
 * A copy of a repeated config field, refused naming the field when it holds more
 * entries than max: every entry is checked against every item an exporter gets,
 * and the config is stored and re-read by every replica.
 */
export function limitedList<T>(values: readonly T[] | undefined, max: number, field: string): T[] {
	const list = [...(values ?? [])];
	if (list.length > max) {
		throw new InvalidExporterConfig(field, `${list.length} entries is over the limit of ${max}`);
	}
	return list;
}
