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
	const core: QueueCore = createQueueCore({
		redis,
		clock,
		logger: options.logger ?? pino({ level: "silent" }),
		namespace: `test:queue:${randomSuffix()}`,
		defaults: TEST_DEFAULTS,
		lifecycleLog: options.lifecycleLog ?? false,
		telemetry: true,
		sweepEveryMs: 0,
	});
	return { core, clock };
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
