import { PayloadSerializationError } from "../client/errors.js";

/** The media type of every payload and output the SDK writes. */
export const JSON_TYPE = "application/json";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * JSON bytes of a payload or output. Values JSON cannot carry (functions,
 * symbols, BigInt, cycles) are refused with an error naming the path, rather
 * than silently dropped as JSON.stringify would.
 */
export function serialize(field: string, value: unknown): Uint8Array {
	if (value === undefined) return new Uint8Array();
	const problem = findUnserializable(value, field, new Set());
	if (problem !== undefined) {
		throw new PayloadSerializationError(
			`${problem.path}: ${problem.reason}; payloads and outputs must be JSON`,
			{
				code: "PAYLOAD_NOT_SERIALIZABLE",
				fieldViolations: [{ field: problem.path, description: problem.reason }],
			},
		);
	}
	return encoder.encode(JSON.stringify(value));
}

/** The value of JSON bytes (undefined for an empty body). */
export function deserialize(bytes: Uint8Array, type = JSON_TYPE): unknown {
	if (bytes.byteLength === 0) return undefined;
	const text = decoder.decode(bytes);
	if (type !== "" && type !== JSON_TYPE) return text;
	return JSON.parse(text);
}

function findUnserializable(
	value: unknown,
	path: string,
	seen: Set<object>,
): { path: string; reason: string } | undefined {
	switch (typeof value) {
		case "function":
			return { path, reason: "a function cannot be serialized" };
		case "symbol":
			return { path, reason: "a symbol cannot be serialized" };
		case "bigint":
			return { path, reason: `the BigInt ${value}n cannot be serialized (send it as a string)` };
		case "number":
			return Number.isFinite(value) ? undefined : { path, reason: `${value} is not a finite number` };
		case "object": {
			if (value === null) return undefined;
			if (seen.has(value)) return { path, reason: "a circular reference cannot be serialized" };
			if (typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
			seen.add(value);
			const entries = Array.isArray(value)
				? value.map((v, i) => [`[${i}]`, v] as const)
				: Object.entries(value).map(([k, v]) => [`.${k}`, v] as const);
			for (const [key, child] of entries) {
				// JSON drops undefined-valued keys on its own; that is not an error.
				if (child === undefined && !Array.isArray(value)) continue;
				const found = findUnserializable(child, `${path}${key}`, seen);
				if (found !== undefined) return found;
			}
			seen.delete(value);
			return undefined;
		}
		default:
			return undefined;
	}
}
