import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { spanItem } from "../testing/span-items.js";
import { InvalidExporterConfig } from "./exporter-errors.js";
import type { LogItem, SpanItem } from "./model.js";
import { compileRedaction } from "./redaction.js";

const resource = { attributes: { "service.name": "api", "deploy.token": "t-1" } };

function span(attributes: SpanItem["attributes"]): SpanItem {
	return spanItem({
		resource,
		attributes,
		events: [{ timeUnixNano: 1n, name: "e", attributes: { password: "p" } }],
		statusCode: 2,
		statusMessage: "card 4111111111111111 declined",
	});
}

/** A copy with ordinary prototypes: redaction builds attribute maps without one (see newAttributes). */
const plain = <T>(value: T): T => structuredClone(value);

describe("compileRedaction", () => {
	const redact = compileRedaction({
		keys: ["password"],
		keyPatterns: ["token$"],
		valuePatterns: ["\\d{16}"],
		replacement: "***",
	});

	test("masks keys, key patterns and value patterns on spans, events, resource and status, leaving the original intact", () => {
		assert.ok(redact !== undefined);
		const original = span({
			password: "hunter2",
			"api.token": "abc",
			note: "paid with 4111111111111111",
			count: 3n,
		});
		const masked = redact(original) as SpanItem;
		assert.deepEqual(plain(masked.attributes), {
			password: "***",
			"api.token": "***",
			note: "paid with ***",
			count: 3n,
		});
		assert.deepEqual(plain(masked.resource.attributes), { "service.name": "api", "deploy.token": "***" });
		assert.deepEqual(plain(masked.events[0]?.attributes), { password: "***" });
		assert.equal(masked.statusMessage, "card *** declined");
		assert.equal(original.attributes.password, "hunter2");
		assert.equal(resource.attributes["deploy.token"], "t-1");
	});

	test("masks inside nested maps and a log body", () => {
		assert.ok(redact !== undefined);
		const log: LogItem = {
			signal: "logs",
			resource,
			scope: { name: "s", version: "" },
			timeUnixNano: 1n,
			severityNumber: 9,
			severityText: "INFO",
			body: { user: { password: "x", card: "4111111111111111" } },
			attributes: {},
			traceId: "",
			spanId: "",
		};
		const masked = redact(log) as LogItem;
		assert.deepEqual(plain(masked.body), { user: { password: "***", card: "***" } });
	});

	test("an invalid pattern is refused naming the field", () => {
		assert.throws(
			() => compileRedaction({ keys: [], keyPatterns: [], valuePatterns: ["ok", "[bad"], replacement: "x" }),
			(error: unknown) =>
				error instanceof InvalidExporterConfig && error.field === "config.redaction.value_patterns[1]",
		);
	});

	test("an empty redaction compiles to nothing, so items pass uncopied", () => {
		assert.equal(
			compileRedaction({ keys: [], keyPatterns: [], valuePatterns: [], replacement: "x" }),
			undefined,
		);
	});
});
