import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RedisClient } from "../../../kit/src/index.js";

/**
 * Tells waiting consumers that an environment may have something for them:
 * messages were enqueued, capacity was freed, a queue was resumed. Local
 * waiters are woken at once; with a subscriber connection, other replicas are
 * told over Redis pub/sub. Each environment has a version number, so a waiter
 * that looked before a change and waits after it does not miss the change.
 */
export class WakeBus {
	private readonly versions = new Map<string, number>();
	private readonly waiters = new Map<string, Set<() => void>>();
	private readonly redis: RedisClient | undefined;
	private readonly subscriber: RedisClient | undefined;
	private readonly channel: string;
	/** Tags this bus's own messages, which it has already applied locally. */
	private readonly origin = randomBytes(6).toString("base64url");

	constructor(options: { redis?: RedisClient; subscriber?: RedisClient; channel: string; logger: Logger }) {
		this.redis = options.redis;
		this.subscriber = options.subscriber;
		this.channel = options.channel;
		if (this.subscriber !== undefined) {
			this.subscriber.on("message", (channel: string, message: string) => {
				if (channel !== this.channel) return;
				const cut = message.indexOf("|");
				if (message.slice(0, cut) !== this.origin) this.wakeLocal(message.slice(cut + 1));
			});
			this.subscriber.subscribe(this.channel).catch((error: unknown) => {
				options.logger.warn({ err: error }, "queue wake-ups from other replicas are off");
			});
		}
	}

	/** The change count of an environment, to compare before waiting. */
	version(environmentId: string): number {
		return this.versions.get(environmentId) ?? 0;
	}

	/** Wakes local waiters and tells other replicas. */
	notify(environmentId: string): void {
		this.wakeLocal(environmentId);
		this.tellReplicas(environmentId);
	}

	/**
	 * Wakes local waiters only. A caller that has just issued a write on the
	 * connection the waiters read through may wake them before the write's reply:
	 * their next command goes out behind it on that connection, so it sees the
	 * write, and a message gets to its consumer one round trip sooner.
	 */
	notifyLocal(environmentId: string): void {
		this.wakeLocal(environmentId);
	}

	/**
	 * The channel and message that tell other replicas about an environment, for
	 * a script to publish in the same step as its write (saving a command and a
	 * round trip); undefined when this bus has no other replicas to tell.
	 */
	replicaMessage(environmentId: string): [channel: string, message: string] | undefined {
		if (this.subscriber === undefined || this.redis === undefined) return undefined;
		return [this.channel, `${this.origin}|${environmentId}`];
	}

	/** Tells other replicas (after a write is known to be applied). */
	tellReplicas(environmentId: string): void {
		if (this.subscriber !== undefined && this.redis !== undefined) {
			// A lost wake-up only costs a waiter its idle recheck, so failures are not fatal.
			this.redis.publish(this.channel, `${this.origin}|${environmentId}`).catch(() => {});
		}
	}

	/**
	 * Resolves when one of the environments changes after the given versions, at
	 * `until` (ms, wall clock), or when the signal aborts, whichever is first.
	 */
	wait(seen: Map<string, number>, untilMs: number, signal: AbortSignal): Promise<void> {
		for (const [environmentId, version] of seen) {
			if (this.version(environmentId) !== version) return Promise.resolve();
		}
		if (signal.aborted) return Promise.resolve();
		return new Promise((resolve) => {
			const done = () => {
				clearTimeout(timer);
				signal.removeEventListener("abort", done);
				for (const environmentId of seen.keys()) this.waiters.get(environmentId)?.delete(done);
				resolve();
			};
			const timer = setTimeout(done, Math.max(0, untilMs - Date.now()));
			signal.addEventListener("abort", done, { once: true });
			for (const environmentId of seen.keys()) {
				let set = this.waiters.get(environmentId);
				if (set === undefined) {
					set = new Set();
					this.waiters.set(environmentId, set);
				}
				set.add(done);
			}
		});
	}

	/** Stops listening to other replicas. */
	async close(): Promise<void> {
		if (this.subscriber !== undefined) await this.subscriber.unsubscribe(this.channel).catch(() => {});
	}

	private wakeLocal(environmentId: string): void {
		this.versions.set(environmentId, this.version(environmentId) + 1);
		const set = this.waiters.get(environmentId);
		if (set === undefined) return;
		this.waiters.delete(environmentId);
		for (const wake of set) wake();
	}
}
