import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isServiceError } from "../../../kit/src/index.js";
import { resolveMachine } from "./machine-presets.js";
import { DEFAULT_RETRY, retryDelayMs } from "./retry-delay.js";

describe("machine presets", () => {
	test("no machine means small-1x", () => {
		assert.equal(resolveMachine(undefined, "m").name, "small-1x");
	});

	test("custom resources round up to the smallest preset that fits both cpu and memory", () => {
		assert.equal(resolveMachine({ cpu: 0.1, memoryGb: 0.1 }, "m").name, "micro");
		assert.equal(resolveMachine({ cpu: 0.5, memoryGb: 0.75 }, "m").name, "small-2x");
		assert.equal(resolveMachine({ cpu: 1, memoryGb: 1.5 }, "m").name, "medium-1x");
		assert.equal(resolveMachine({ cpu: 3, memoryGb: 1 }, "m").name, "large-1x");
		assert.equal(resolveMachine({ cpu: 8, memoryGb: 16 }, "m").name, "large-2x");
	});

	test("zero, negative or oversized resources and unknown names are refused naming the field", () => {
		for (const [request, field] of [
			[{ cpu: 0, memoryGb: 1 }, "m.custom.cpu"],
			[{ cpu: 1, memoryGb: -1 }, "m.custom.memory_gb"],
			[{ cpu: 8.5, memoryGb: 1 }, "m.custom.cpu"],
			[{ preset: "xl" }, "m.preset"],
		] as const) {
			assert.throws(
				() => resolveMachine(request, "m"),
				(e: unknown) =>
					isServiceError(e) && e.code === "INVALID_ARGUMENT" && e.fieldViolations[0]?.field === field,
			);
		}
	});
});

describe("retry delay", () => {
	test("grows by the factor from the minimum and stops at the maximum", () => {
		assert.deepEqual(
			[1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelayMs(DEFAULT_RETRY, n)),
			[1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000],
		);
	});

	test("randomized delays are multiplied by r in [1, 2) and still capped", () => {
		const settings = { ...DEFAULT_RETRY, randomize: true };
		assert.equal(
			retryDelayMs(settings, 1, () => 0),
			1_000,
		);
		assert.equal(
			retryDelayMs(settings, 2, () => 0.5),
			3_000,
		);
		assert.equal(
			retryDelayMs(settings, 7, () => 0.99),
			60_000,
		);
	});
});
