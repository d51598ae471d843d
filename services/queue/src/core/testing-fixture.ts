import { type Logger, pino } from "pino";
import type { RedisClient } from "../../../kit/src/index.js";
import { randomSuffix } from "../../../kit/src/testing/stores.js";
import type { QueueDefaults } from "./queue-context.js";
import { createQueueCore, type QueueCore } from "./queue-core.js";
import type { NewMessage } from "./types.js";

/** A clock a test moves by hand. */
export class ManualClock {
	constructor(public nowMs = Date.UTC(2026, 0, 1)) {}

	/** The current time. */
	now(): number {
		return this.nowMs;
	}

	/** Moves time forward. */
	advance(ms: number): void {
		this.nowMs += ms;
	}
}

/** Defaults for tests: long visibility so only the test's clock expires deliveries. */
export const TEST_DEFAULTS: QueueDefaults = {
	visibilityTimeoutMs: 60_000,
	concurrencyLimit: 0,
	keySharePercent: 50,
	maxNacks: 3,
	acknowledgedRetentionSeconds: 600,
};

/** A queue core on its own namespace with a manual clock and no reaper. */
export function testQueueCore(redis: RedisClient, options: { logger?: Logger; lifecycleLog?: boolean } = {}) {
	const clock = new ManualClock();
	const namespace = `test:queue:${randomSuffix()}`;
	const core: QueueCore = createQueueCore({
		redis,
		clock,
		logger: options.logger ?? pino({ level: "silent" }),
		namespace,
		defaults: TEST_DEFAULTS,
		lifecycleLog: options.lifecycleLog ?? false,
		telemetry: true,
		sweepEveryMs: 0,
	});
	return { core, clock, dropKeys: () => dropNamespace(redis, namespace) };
}

/** A message with defaults a test overrides. */
export function message(id: string, fields: Partial<NewMessage> = {}): NewMessage {
	return {
		id,
		environmentId: "env",
		queue: "q",
		concurrencyKey: "",
		payload: Buffer.from(`payload of ${id}`),
		priority: 0,
		metadata: { runId: `run_${id}`, taskId: "task", attempt: 1, labels: {} },
		...fields,
	};
}

/**
 * Deletes a test core's keys. Tests share the machine's Redis, which outlives the run;
 * on a cluster every master is scanned (each holds some of the namespace's slots).
 */
async function dropNamespace(redis: RedisClient, namespace: string): Promise<void> {
	const nodes = "nodes" in redis ? redis.nodes("master") : [redis];
	for (const node of nodes) {
		for await (const keys of node.scanStream({ match: `${namespace}*`, count: 1_000 })) {
			// One UNLINK per key, pipelined: keys of one scan page may sit in different slots.
			const pipeline = node.pipeline();
			for (const key of keys as string[]) pipeline.unlink(key);
			await pipeline.exec();
		}
	}
}
