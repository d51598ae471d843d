import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { spanItem } from "../testing/span-items.js";
import { compileFilter } from "./item-filter.js";
import type { MetricItem, SpanItem } from "./model.js";
import { traceRatioSampler } from "./trace-sampler.js";

function span(
	service: string,
	attributes: SpanItem["attributes"],
	traceId = "0af7651916cd43dd8448eb211c80319c",
): SpanItem {
	return spanItem({ resource: { attributes: { "service.name": service } }, attributes, traceId });
}

const metric: MetricItem = {
	signal: "metrics",
	resource: { attributes: { "service.name": "api" } },
	scope: { name: "s", version: "" },
	name: "m",
	description: "",
	unit: "",
	data: {
		type: "gauge",
		points: [{ attributes: { region: "eu" }, startTimeUnixNano: 0n, timeUnixNano: 1n, value: 1 }],
	},
};

describe("compileFilter", () => {
	test("matches on service, task id and attribute patterns together", () => {
		const filter = compileFilter(
			{
				signals: [],
				services: ["api"],
				taskIds: ["send-email"],
				attributes: [{ key: "http.route", equals: "", pattern: "^/v1/" }],
			},
			["traces", "logs", "metrics"],
		);
		assert.equal(filter(span("api", { "taskmesh.task_id": "send-email", "http.route": "/v1/x" })), true);
		assert.equal(filter(span("web", { "taskmesh.task_id": "send-email", "http.route": "/v1/x" })), false);
		assert.equal(filter(span("api", { "taskmesh.task_id": "other", "http.route": "/v1/x" })), false);
		assert.equal(filter(span("api", { "taskmesh.task_id": "send-email", "http.route": "/v2/x" })), false);
	});

	test("narrows signals to what the exporter kind supports", () => {
		const filter = compileFilter(
			{ signals: ["traces", "metrics"], services: [], taskIds: [], attributes: [] },
			["traces"],
		);
		assert.equal(filter(span("api", {})), true);
		assert.equal(filter(metric), false);
	});

	test("a metric matches when one of its points does", () => {
		const filter = compileFilter(
			{ signals: [], services: [], taskIds: [], attributes: [{ key: "region", equals: "eu", pattern: "" }] },
			["metrics"],
		);
		assert.equal(filter(metric), true);
	});
});

describe("traceRatioSampler", () => {
	test("keeps or drops all items of one trace together, about the ratio of traces", () => {
		const sample = traceRatioSampler(0.25);
		assert.ok(sample !== undefined);
		let kept = 0;
		for (let i = 0; i < 4_000; i++) {
			const traceId = `${i.toString(16).padStart(16, "0")}${((i * 2654435761) % 2 ** 32).toString(16).padStart(8, "0")}${(i * 40503).toString(16).padStart(8, "0").slice(-8)}`;
			const a = sample(span("api", {}, traceId));
			assert.equal(sample(span("web", {}, traceId)), a);
			if (a) kept += 1;
		}
		assert.ok(kept > 600 && kept < 1_400, `kept ${kept} of 4000`);
		assert.equal(sample(metric), true);
		assert.equal(traceRatioSampler(1), undefined);
	});
});
