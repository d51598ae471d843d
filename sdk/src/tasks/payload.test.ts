import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PayloadSerializationError } from "../client/errors.js";
import { durationMs } from "./duration.js";
import { deserialize, serialize } from "./payload.js";
import { triggerOptions } from "./trigger-options.js";

describe("payloads, durations and trigger options", () => {
	test("a JSON payload round-trips byte-exact", () => {
		const value = { text: "héllo", n: [1, 2.5, null], nested: { ok: true } };
		assert.deepEqual(deserialize(serialize("payload", value)), value);
		assert.equal(serialize("payload", undefined).byteLength, 0);
	});

	test("values JSON cannot carry are refused with their path", () => {
		const cyclic: Record<string, unknown> = {};
		cyclic.self = cyclic;
		const cases: [unknown, RegExp][] = [
			[{ a: { b: 10n } }, /^payload\.a\.b: the BigInt 10n/],
			[{ f: () => 1 }, /^payload\.f: a function/],
			[[1, Number.NaN], /^payload\[1\]: NaN is not a finite number/],
			[cyclic, /^payload\.self: a circular reference/],
		];
		for (const [value, pattern] of cases) {
			assert.throws(
				() => serialize("payload", value),
				(e: unknown) => {
					assert.ok(e instanceof PayloadSerializationError);
					assert.match(e.message, pattern);
					return true;
				},
			);
		}
	});

	test("durations read seconds or unit strings", () => {
		assert.equal(durationMs("d", 1.5), 1500);
		assert.equal(durationMs("d", "250ms"), 250);
		assert.equal(durationMs("d", "5m"), 300_000);
		assert.equal(durationMs("d", "2h"), 7_200_000);
		assert.throws(
			() => durationMs("options.ttl", "soon"),
			/^TaskmeshValidationError|options\.ttl: "soon" is not a duration/,
		);
		assert.throws(() => durationMs("d", -1), /-1 is not a number of seconds/);
	});

	test("trigger options convert to the contract and name the bad field", () => {
		const wire = triggerOptions({
			queue: "emails",
			delay: "30s",
			tags: ["a"],
			retry: { maxAttempts: 5, minTimeoutInMs: 1500 },
			machine: "large-2x",
			maxDuration: 60,
			metadata: { user: "u1", n: 2 },
		});
		assert.equal(wire.queue, "emails");
		assert.deepEqual(wire.delay, { seconds: 30n, nanos: 0 });
		assert.deepEqual(wire.retry?.minTimeout, { seconds: 1n, nanos: 500_000_000 });
		assert.deepEqual(wire.machine, { kind: { case: "preset", value: "large-2x" } });
		assert.deepEqual(wire.metadata, { user: "u1", n: 2 });
		assert.throws(
			() => triggerOptions({ retry: { maxAttempts: 0 } }),
			/options\.retry\.maxAttempts: 0 is not a whole number/,
		);
		assert.throws(
			() => triggerOptions({ machine: { cpu: 0, memoryGb: 1 } }),
			/options\.machine: a machine is a preset name/,
		);
		assert.throws(() => triggerOptions({ priority: 1.5 }), /options\.priority: 1\.5 is not an integer/);
	});
});
