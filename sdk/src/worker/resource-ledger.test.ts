import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AsyncChannel } from "./async-channel.js";
import { ResourceLedger } from "./resource-ledger.js";

describe("worker resource accounting", () => {
	test("attempts fit while their presets' cpu and memory sum within the capacity", () => {
		const ledger = new ResourceLedger({ cpu: 2, memoryGb: 4 });
		for (let i = 0; i < 8; i++) {
			assert.ok(ledger.fits({ cpu: 0.25, memoryGb: 0.25 }), `quarter core ${i} fits`);
			ledger.hold(`a${i}`, { cpu: 0.25, memoryGb: 0.25 });
		}
		assert.deepEqual(ledger.free(), { cpu: 0, memoryGb: 2 });
		assert.equal(ledger.fits({ cpu: 0.25, memoryGb: 0.25 }), false);
		ledger.release("a0");
		assert.ok(ledger.fits({ cpu: 0.25, memoryGb: 0.25 }));
		assert.equal(ledger.count, 7);
	});

	test("an async channel yields what was pushed, in order, and ends after end()", async () => {
		const channel = new AsyncChannel<number>();
		channel.push(1);
		channel.push(2);
		setImmediate(() => {
			channel.push(3);
			channel.end();
			channel.push(4);
		});
		const seen: number[] = [];
		for await (const v of channel) seen.push(v);
		assert.deepEqual(seen, [1, 2, 3]);
	});
});
