import type { Logger } from "pino";
import type { RedisClient } from "../../../kit/src/index.js";
import type { Clock } from "./clock.js";
import type { LifecycleLog } from "./lifecycle-log.js";
import { type QueueCommands, queueCommands } from "./lua-scripts.js";
import type { QueueMetrics } from "./queue-metrics.js";
import type { WakeBus } from "./wake-bus.js";

/** Settings that apply where a queue or an environment has none of its own. */
export interface QueueDefaults {
	/** Visibility timeout of deliveries, ms. */
	visibilityTimeoutMs: number;
	/** Concurrency limit of a new queue (0: none). */
	concurrencyLimit: number;
	/** Share of a queue's limit one concurrency key gets when it has no limit of its own, percent. */
	keySharePercent: number;
	/** Nacks after which a message is dead-lettered. */
	maxNacks: number;
	/** How long an acknowledged message's tombstone answers "already acknowledged", seconds. */
	acknowledgedRetentionSeconds: number;
}

/** The resources the queue's parts share, passed to each constructor. */
export interface QueueContext {
	redis: RedisClient;
	clock: Clock;
	logger: Logger;
	/** Prefix of every key, without braces; one deployment's queues live under it. */
	namespace: string;
	defaults: QueueDefaults;
	wake: WakeBus;
	lifecycle: LifecycleLog;
	metrics: QueueMetrics;
}

/** The key every script of an environment is routed by: its hash tag is the environment. */
export function environmentBase(namespace: string, environmentId: string): string {
	return `${namespace}:{${environmentId}}:`;
}

/** The set of environments that have ever held a message (read by the reaper). */
export function environmentsKey(namespace: string): string {
	return `${namespace}:environments`;
}

/** Script commands bound to the context's client. */
export function commandsOf(context: QueueContext): QueueCommands {
	return queueCommands(context.redis);
}

/** Remembers which environments this process has registered, to register each once. */
export class EnvironmentRegistry {
	private readonly known = new Set<string>();

	constructor(private readonly context: QueueContext) {}

	/** Adds the environment to the reaper's set the first time this process sees it. */
	async register(environmentId: string): Promise<void> {
		if (this.known.has(environmentId)) return;
		await this.context.redis.sadd(environmentsKey(this.context.namespace), environmentId);
		this.known.add(environmentId);
	}

	/** Every environment the reaper should sweep. */
	async all(): Promise<string[]> {
		return this.context.redis.smembers(environmentsKey(this.context.namespace));
	}
}
