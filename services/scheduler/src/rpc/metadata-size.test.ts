import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fromJson, type JsonObject, toBinary } from "@bufbuild/protobuf";
import { StructSchema } from "@bufbuild/protobuf/wkt";
import { metadataWireBytes } from "../core/metadata-size.js";

const cases: [string, JsonObject][] = [
	["empty", {}],
	["scalars", { s: "text", n: 1.5, t: true, f: false, z: null }],
	[
		"text of many bytes (varint lengths of two and three bytes)",
		{ a: "é".repeat(100), b: "x".repeat(20_000) },
	],
	["numbers in a list", { numbers: Array.from({ length: 600 }, (_, i) => i) }],
	["nesting", { a: { b: [{ c: [] }, [], {}, "d", [1, [2, [3]]]] }, "key ✓": { "": null } }],
];

describe("the metadata's size as a google.protobuf.Struct", () => {
	for (const [name, metadata] of cases) {
		test(`is the size protobuf-es encodes: ${name}`, () => {
			assert.equal(
				metadataWireBytes(metadata),
				toBinary(StructSchema, fromJson(StructSchema, metadata)).byteLength,
			);
		});
	}
});
