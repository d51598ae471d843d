/**
 * The size of a run's metadata as every answer carries it: the bytes of the
 * google.protobuf.Struct it is encoded as. Measured this way rather than as JSON
 * text because that is what must fit the gRPC message: a list of numbers is two
 * JSON bytes per number but eleven in a Struct (a tagged double inside a Value).
 * Computed from the JSON value alone, so the core needs no protobuf.
 */
export function metadataWireBytes(metadata: unknown): number {
	return structBytes(metadata as Record<string, unknown>);
}

/** A Struct: each field a map entry (key, Value) of its own. */
function structBytes(object: Record<string, unknown>): number {
	let bytes = 0;
	for (const key in object) {
		const keyBytes = Buffer.byteLength(key);
		const entry = 1 + varintBytes(keyBytes) + keyBytes + lengthDelimited(valueBytes(object[key]));
		bytes += lengthDelimited(entry);
	}
	return bytes;
}

/** A Value: one tagged field, the kind of the JSON value. */
function valueBytes(value: unknown): number {
	if (value === null || value === undefined) return 2;
	switch (typeof value) {
		case "number":
			return 9;
		case "boolean":
			return 2;
		case "string":
			return lengthDelimited(Buffer.byteLength(value));
		default:
			break;
	}
	if (Array.isArray(value)) {
		let list = 0;
		for (const item of value) list += lengthDelimited(valueBytes(item));
		return lengthDelimited(list);
	}
	return lengthDelimited(structBytes(value as Record<string, unknown>));
}

/** A length-delimited field of `length` bytes with its one-byte tag. */
function lengthDelimited(length: number): number {
	return 1 + varintBytes(length) + length;
}

function varintBytes(n: number): number {
	let bytes = 1;
	for (let rest = n; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes++;
	return bytes;
}
