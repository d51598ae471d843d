import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { InvalidExporterConfig } from "../core/exporter-errors.js";

/**
 * Checks a module exporter's options (a google.protobuf.Struct) before anything
 * is built: a NaN or infinite number cannot be stored (Struct's JSON has no such
 * number), so it is refused naming `config.module.options.<key>` instead of
 * failing after the module's factory already ran.
 */
export function checkModuleOptions(options: JsonObject, field = "config.module.options"): void {
	for (const [key, value] of Object.entries(options)) checkValue(value, `${field}.${key}`);
}

function checkValue(value: JsonValue, field: string): void {
	if (typeof value === "number") {
		if (!Number.isFinite(value)) throw new InvalidExporterConfig(field, `${value} is not a finite number`);
		return;
	}
	if (Array.isArray(value)) {
		for (const [i, item] of value.entries()) checkValue(item, `${field}[${i}]`);
		return;
	}
	if (value !== null && typeof value === "object") checkModuleOptions(value, field);
}
