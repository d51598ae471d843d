import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pino } from "pino";
import { spanItem } from "../testing/span-items.js";
import { ExportPipeline } from "./export-pipeline.js";
import { ExportFailure } from "./exporter-errors.js";
import type { ExporterSink } from "./exporter-sink.js";
import { EXPORTER_DEFAULTS, type ExporterSpec } from "./exporter-spec.js";
import { ALL_SIGNALS, type SignalBatch, type SpanItem } from "./model.js";

const logger = pino({ level: "silent" });

function spec(overrides: Partial<ExporterSpec> = {}): ExporterSpec {
	return {
		...EXPORTER_DEFAULTS,
		name: "test",
		enabled: true,
		target: { kind: "console", compact: true },
		filter: { signals: [], services: [], taskIds: [], attributes: [] },
		redaction: { keys: [], keyPatterns: [], valuePatterns: [], replacement: "x" },
		samplingRatio: 1,
		overflow: "drop_newest",
		maxDelayMs: 5,
		initialBackoffMs: 1,
		maxBackoffMs: 2,
		...overrides,
	};
}

function spans(count: number): SpanItem[] {
	const resource = { attributes: {} };
	const scope = { name: "s", version: "" };
	return Array.from({ length: count }, (_, i) =>
		spanItem({ resource, scope, spanId: i.toString(16).padStart(16, "0"), name: `s${i}` }),
	);
}

/** A sink that answers from a script of outcomes, then succeeds. */
function scriptedSink(script: Array<"retryable" | "permanent" | "hang">) {
	const delivered: string[] = [];
	let calls = 0;
	const sink: ExporterSink = {
		signals: ALL_SIGNALS,
		async export(batch: SignalBatch, signal: AbortSignal) {
			const step = script[calls++];
			if (step === "retryable") throw new ExportFailure("busy", true);
			if (step === "permanent") throw new ExportFailure("refused", false);
			if (step === "hang") await new Promise((resolve) => signal.addEventListener("abort", resolve));
			else for (const item of batch.items) delivered.push((item as SpanItem).name);
		},
		async shutdown() {},
	};
	return { sink, delivered, calls: () => calls };
}

async function until(check: () => boolean): Promise<void> {
	while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("ExportPipeline", () => {
	test("retries a retryable failure and then counts the batch as exported", async () => {
		const { sink, delivered } = scriptedSink(["retryable", "retryable"]);
		const pipeline = new ExportPipeline({ spec: spec(), sink, logger });
		assert.equal(pipeline.offer(spans(3)), 3);
		await until(() => pipeline.status().exported === 3);
		const status = pipeline.status();
		assert.deepEqual(delivered, ["s0", "s1", "s2"]);
		assert.equal(status.failed, 2);
		assert.equal(status.dropped, 0);
		assert.equal(status.health, "healthy");
		assert.equal(status.lastError, "busy");
		await pipeline.stop();
	});

	test("drops a batch at once on a permanent failure and counts it", async () => {
		const { sink, calls } = scriptedSink(["permanent"]);
		const pipeline = new ExportPipeline({ spec: spec(), sink, logger });
		pipeline.offer(spans(4));
		await until(() => pipeline.status().dropped === 4);
		assert.equal(calls(), 1);
		assert.equal(pipeline.status().health, "unhealthy");
		await pipeline.stop();
	});

	test("a hung attempt times out, is retried, and is dropped after the last attempt", async () => {
		const { sink, calls } = scriptedSink(["hang", "hang"]);
		const pipeline = new ExportPipeline({ spec: spec({ timeoutMs: 10, maxAttempts: 2 }), sink, logger });
		pipeline.offer(spans(2));
		await until(() => pipeline.status().dropped === 2);
		assert.equal(calls(), 2);
		assert.match(pipeline.status().lastError, /timed out after 10 ms/);
		await pipeline.stop();
	});

	test("batches never exceed max_batch_size", async () => {
		const sizes: number[] = [];
		const sink: ExporterSink = {
			signals: ALL_SIGNALS,
			async export(batch) {
				sizes.push(batch.items.length);
			},
			async shutdown() {},
		};
		const pipeline = new ExportPipeline({ spec: spec({ maxBatchSize: 4 }), sink, logger });
		pipeline.offer(spans(10));
		await until(() => pipeline.status().exported === 10);
		assert.ok(sizes.every((n) => n <= 4));
		assert.equal(
			sizes.reduce((a, b) => a + b, 0),
			10,
		);
		await pipeline.stop();
	});

	test("stop hands back what is still queued", async () => {
		const { sink } = scriptedSink(["hang"]);
		const pipeline = new ExportPipeline({
			spec: spec({ maxBatchSize: 2, maxDelayMs: 0, timeoutMs: 60_000 }),
			sink,
			logger,
		});
		pipeline.offer(spans(5));
		await until(() => pipeline.status().queueDepth === 3);
		const left = await pipeline.stop();
		assert.deepEqual(
			left.map((s) => (s as SpanItem).name),
			["s2", "s3", "s4"],
		);
	});
});
