import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { RedisClient } from "../../../kit/src/index.js";

/** How long publishing stays paused on a bus that has heard it is alone. */
const ALONE_RECHECK_MS = 1000;

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

	/**
	 * Whether the last publish reached no other replica, so publishing can pause:
	 * on a single replica every enqueue would otherwise send the bus a message
	 * only to be read back and dropped. Standalone Redis only; a cluster node's
	 * PUBLISH counts its own subscribers, not the cluster's.
	 */
	private alone = false;
	private aloneSince = 0;
	/** When a message of another replica last came; a publish reply older than it may be stale. */
	private heardOthersAt = 0;
	private readonly countsReplicas: boolean;

	constructor(options: { redis?: RedisClient; subscriber?: RedisClient; channel: string; logger: Logger }) {
		this.redis = options.redis;
		this.subscriber = options.subscriber;
		this.channel = options.channel;
		this.countsReplicas = options.redis !== undefined && !options.redis.isCluster;
		if (this.subscriber !== undefined) {
			this.subscriber.on("message", (channel: string, message: string) => {
				if (channel !== this.channel) return;
				const cut = message.indexOf("|");
				if (message.slice(0, cut) === this.origin) return;
				this.alone = false;
				this.heardOthersAt = Date.now();
				// An empty environment is a replica saying it has started.
				const environmentId = message.slice(cut + 1);
				if (environmentId !== "") this.wakeLocal(environmentId);
			});
			this.ready = this.subscriber
				.subscribe(this.channel)
				.then(() => this.publish(""))
				.catch((error: unknown) => {
					options.logger.warn({ err: error }, "queue wake-ups from other replicas are off");
				});
		} else {
			this.ready = Promise.resolve();
		}
	}

	/**
	 * Settles once this bus is subscribed and has announced itself (and heard how
	 * many subscribers got the announcement), or at once without a subscriber.
	 */
	readonly ready: Promise<void>;

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
	 * round trip); undefined when this bus has no other replicas to tell. The
	 * script's PUBLISH reply goes to heard().
	 */
	replicaMessage(environmentId: string): [channel: string, message: string] | undefined {
		if (this.subscriber === undefined || this.redis === undefined || this.pausedAsAlone()) return undefined;
		return [this.channel, `${this.origin}|${environmentId}`];
	}

	/** Takes a PUBLISH reply on the channel: how many subscribers, this bus's own included, got it. */
	heard(receivers: number): void {
		if (!this.countsReplicas) return;
		// The reply and another replica's message come on different connections, so
		// one heard lately outweighs a reply that may have been counted before it.
		const now = Date.now();
		this.alone = receivers <= 1 && now - this.heardOthersAt > ALONE_RECHECK_MS;
		this.aloneSince = now;
	}

	/** Tells other replicas (after a write is known to be applied). */
	tellReplicas(environmentId: string): void {
		if (!this.pausedAsAlone()) void this.publish(environmentId);
	}

	private async publish(environmentId: string): Promise<void> {
		if (this.subscriber === undefined || this.redis === undefined) return;
		// A lost wake-up only costs a waiter its idle recheck, so failures are not fatal.
		await this.redis
			.publish(this.channel, `${this.origin}|${environmentId}`)
			.then((receivers) => this.heard(receivers))
			.catch(() => {});
	}

	/**
	 * Alone, publishing pauses; a replica that starts says so on the channel, which
	 * ends the pause at once, and a publish a second still checks whether one came
	 * unheard. A wake-up missed meanwhile costs a waiter its idle recheck at worst.
	 */
	private pausedAsAlone(): boolean {
		return this.alone && Date.now() - this.aloneSince < ALONE_RECHECK_MS;
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

	/**
	 * Calls `wake` at the next change of an environment, once, unless unlisten()
	 * takes it back first. For a waiter that compares versions itself and keeps one
	 * callback for all its waits (see ConsumerWait), where wait() would make a
	 * promise, a closure, a timer and a signal listener for every wait.
	 */
	listen(environmentId: string, wake: () => void): void {
		let set = this.waiters.get(environmentId);
		if (set === undefined) {
			set = new Set();
			this.waiters.set(environmentId, set);
		}
		set.add(wake);
	}

	/** Takes back a listen() that has not been called. */
	unlisten(environmentId: string, wake: () => void): void {
		this.waiters.get(environmentId)?.delete(wake);
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
