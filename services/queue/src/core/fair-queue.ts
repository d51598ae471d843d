import { randomBytes } from "node:crypto";
import { type AckItem, DeliverySettler, type NackItem } from "./delivery-settler.js";
import { packEnqueueMessages } from "./enqueue-packing.js";
import { decodeDeliveries, headerIds, text } from "./message-codec.js";
import {
	commandsOf,
	EnvironmentRegistry,
	environmentBase,
	type QueueContext,
	type QueueDefaults,
} from "./queue-context.js";
import { NO_NAMES, selectorPlan } from "./selector-plan.js";
import { groupByEnvironment } from "./settlement.js";
import type { DeliverRequest, DeliverResult, Delivery, NewMessage, Resources } from "./types.js";
import { type Handoff, type HandoffTerms, WaitingConsumers } from "./waiting-consumers.js";
import { holdWritesForThisTick } from "./write-batch.js";

export type { AckItem, NackItem };

type Raw = Buffer | number | string | null;

/** A message's needs when it states none. */
const NO_NEEDS: Resources = { cpu: 0, memoryGb: 0 };

/**
 * deliver-1.lua's limits argument: the consumer's free resources (-1: no limit),
 * its visibility timeout (0: each queue's) and the defaults, in one string.
 */
function deliveryLimits(free: Resources | undefined, visibilityMs: number, defaults: QueueDefaults): string {
	return [
		free?.cpu ?? -1,
		free?.memoryGb ?? -1,
		visibilityMs,
		defaults.visibilityTimeoutMs,
		defaults.concurrencyLimit,
		defaults.keySharePercent,
	].join("\x1f");
}

/** enqueue-1.lua's hand-off terms argument. */
function handoffTerms(terms: HandoffTerms, token: string, defaults: QueueDefaults): string {
	return [
		terms.consumerId,
		token,
		terms.free?.cpu ?? -1,
		terms.free?.memoryGb ?? -1,
		terms.visibilityMs ?? 0,
		defaults.visibilityTimeoutMs,
		defaults.concurrencyLimit,
		defaults.keySharePercent,
	].join("\x1f");
}

/** A message handed to a waiting consumer by its enqueue script. */
interface HandedOver {
	handoff: Handoff;
	delivery: Delivery;
}

/** The environment of every message, or undefined when they are of several (or none). */
function soleEnvironment(messages: NewMessage[]): string | undefined {
	const first = messages[0]?.environmentId;
	for (let i = 1; i < messages.length; i++) {
		if ((messages[i] as NewMessage).environmentId !== first) return undefined;
	}
	return first;
}

/**
 * The fair, concurrency-limited queue on Redis. Every step is one Lua script
 * per environment that works on a whole batch, so a call costs one round trip
 * whatever its size. Knows nothing of protobuf: the rpc layer converts.
 */
export class FairQueue {
	private readonly context: QueueContext;
	private readonly environments: EnvironmentRegistry;
	private readonly settler: DeliverySettler;
	/** Consumers of this process waiting for messages, which an enqueue may hand one to. */
	readonly waiting = new WaitingConsumers();
	/** Oldest ready message per environment as last seen, for fairness across environments. */
	private readonly oldestSeen = new Map<string, number>();
	/**
	 * Delivery nonces: a random prefix per process and a counter, unique without a
	 * call into the system's random source per delivery script.
	 */
	private readonly noncePrefix = randomBytes(6).toString("base64url");
	private nonceCount = 0;
	/** deliver-1.lua's limits for a consumer that states no resources or visibility timeout. */
	private readonly defaultLimits: string;

	constructor(context: QueueContext) {
		this.context = context;
		this.environments = new EnvironmentRegistry(context);
		this.settler = new DeliverySettler(context);
		this.defaultLimits = deliveryLimits(undefined, 0, context.defaults);
	}

	/** The shared resources (clock, wake bus, ...). */
	get resources(): QueueContext {
		return this.context;
	}

	/** Stores messages; per message, true when its id was already stored. */
	async enqueue(messages: NewMessage[]): Promise<boolean[]> {
		const { clock, metrics, lifecycle } = this.context;
		const now = clock.now();
		const duplicates: boolean[] = new Array(messages.length).fill(false);
		const environmentId = soleEnvironment(messages);
		let handedOver: HandedOver | undefined;
		if (environmentId !== undefined) {
			// The usual request, all of one environment: no grouping, one script.
			handedOver = await this.enqueueIn(environmentId, messages, undefined, duplicates, now);
		} else {
			const byEnvironment = new Map<string, number[]>();
			messages.forEach((m, i) => {
				const list = byEnvironment.get(m.environmentId);
				if (list === undefined) byEnvironment.set(m.environmentId, [i]);
				else list.push(i);
			});
			await Promise.all(
				[...byEnvironment].map(([id, indexes]) => this.enqueueIn(id, messages, indexes, duplicates, now)),
			);
		}
		// A message handed over reaches its taker whatever happens to the logging: a
		// waiting Dequeue waits for it, and a session counts on it for its credit.
		try {
			if (metrics.enabled) {
				for (let i = 0; i < messages.length; i++) {
					const m = messages[i] as NewMessage;
					if (!duplicates[i]) metrics.enqueued.add(m.environmentId, m.queue);
				}
			}
			if (lifecycle.enabled) lifecycle.enqueued(messages, duplicates, now);
			if (handedOver !== undefined)
				this.observeDeliveries(handedOver.handoff.terms.consumerId, [handedOver.delivery], now);
		} finally {
			handedOver?.handoff.taker.settle(handedOver.delivery, handedOver.handoff.need);
		}
		return duplicates;
	}

	/**
	 * One environment's script of an enqueue: the messages at `indexes`, or all of
	 * them when undefined; marks their duplicates. A request of one message that is
	 * ready now may go straight to a consumer of this process that is waiting for it,
	 * its credit set aside: the script hands it over when the consumer's next delivery
	 * script would give it this message, else stores it ready as usual. Returned when
	 * handed over, for the caller to log and settle.
	 */
	private async enqueueIn(
		environmentId: string,
		messages: NewMessage[],
		indexes: number[] | undefined,
		duplicates: boolean[],
		now: number,
	): Promise<HandedOver | undefined> {
		await this.environments.register(environmentId);
		const count = indexes === undefined ? messages.length : indexes.length;
		// Only a request of one message is handed over (indexes are given only to requests
		// of several environments, whose results the caller does not take).
		const handoff =
			indexes === undefined && count === 1 ? this.reserveTaker(environmentId, messages[0], now) : undefined;
		if (handoff === undefined)
			return this.storeIn(environmentId, messages, indexes, duplicates, now, undefined);
		// A reservation is always settled: a taker waits for it (see dequeueWaiting).
		let handedOver: HandedOver | undefined;
		try {
			handedOver = await this.storeIn(environmentId, messages, indexes, duplicates, now, handoff);
		} finally {
			if (handedOver === undefined) handoff.taker.settle(undefined, handoff.need);
		}
		// Stored ready instead: the consumers hear of it.
		if (handedOver === undefined && !duplicates[0]) this.context.wake.notifyLocal(environmentId);
		return handedOver;
	}

	/** The script of enqueueIn, with a hand-off's terms when one was reserved. */
	private async storeIn(
		environmentId: string,
		messages: NewMessage[],
		indexes: number[] | undefined,
		duplicates: boolean[],
		now: number,
		handoff: Handoff | undefined,
	): Promise<HandedOver | undefined> {
		const { wake, namespace, defaults } = this.context;
		const count = indexes === undefined ? messages.length : indexes.length;
		// The script tells other replicas itself, once the messages are stored.
		const replicas = wake.replicaMessage(environmentId);
		const groups = packEnqueueMessages(messages, indexes, count, now);
		if (handoff === undefined) holdWritesForThisTick(this.context.redis);
		const replied = commandsOf(this.context).tmEnqueueBuffer(
			environmentBase(namespace, environmentId),
			now,
			count,
			replicas?.[0] ?? "",
			replicas?.[1] ?? "",
			handoff === undefined
				? ""
				: handoffTerms(handoff.terms, `${this.noncePrefix}${(this.nonceCount++).toString(36)}.1`, defaults),
			...groups,
		) as Promise<Array<Raw | Raw[]>>;
		// Consumers of this process read through the same connection, so their next
		// delivery script runs after this one: woken now, they get the messages in the
		// same round trip instead of the next, and held together, in the same write. (A
		// script retried out of order, after Redis lost its script cache, leaves them to
		// the idle recheck at worst.) Not with a hand-off: a message handed over is nobody
		// else's news, so they hear only of one that was stored ready.
		if (handoff === undefined) wake.notifyLocal(environmentId);
		const reply = await replied;
		for (let k = 0; k < count; k++)
			duplicates[indexes === undefined ? k : (indexes[k] as number)] = reply[k] === 1;
		const receivers = (reply[count] as number | undefined) ?? -1;
		if (receivers >= 0) wake.heard(receivers);
		const handed = handoff === undefined ? undefined : (reply[count + 1] as Raw[] | undefined);
		if (handoff === undefined || handed === undefined) return undefined;
		return { handoff, delivery: decodeDeliveries(environmentId, handed)[0] as Delivery };
	}

	/** A waiting consumer of this process that may take this message at once, its credit set aside. */
	private reserveTaker(
		environmentId: string,
		message: NewMessage | undefined,
		now: number,
	): Handoff | undefined {
		if (message === undefined || (message.availableAt !== undefined && message.availableAt > now))
			return undefined;
		return this.waiting.reserve(environmentId, message.queue, message.resources ?? NO_NEEDS);
	}

	/**
	 * Delivers up to request.max messages to a consumer. Environments are visited
	 * in a random order weighted by the age of their oldest message; inside one,
	 * the script picks queues and keys fairly and honours every limit.
	 */
	async deliver(request: DeliverRequest): Promise<DeliverResult> {
		const { clock, namespace, defaults } = this.context;
		const now = clock.now();
		const { queuesByEnvironment, environmentIds } = selectorPlan(request.selectors);
		let order = this.weightedOrder(environmentIds, now);
		const commands = commandsOf(this.context);
		const deliveries: Delivery[] = [];
		let nextDueAt: number | undefined;
		let free = request.free === undefined ? undefined : { ...request.free };
		// An equal share for each environment still to visit, what one leaves going to the
		// next; environments that filled their share are visited again with what is left.
		while (order.length > 0 && deliveries.length < request.max) {
			const filled: string[] = [];
			for (let i = 0; i < order.length && deliveries.length < request.max; i++) {
				const environmentId = order[i] as string;
				const share = Math.ceil((request.max - deliveries.length) / (order.length - i));
				const names = queuesByEnvironment.get(environmentId) ?? NO_NAMES;
				const reply = (await commands.tmDeliverBuffer(
					environmentBase(namespace, environmentId),
					now,
					request.consumerId,
					`${this.noncePrefix}${(this.nonceCount++).toString(36)}`,
					share,
					free === undefined && request.visibilityMs === undefined
						? this.defaultLimits
						: deliveryLimits(free, request.visibilityMs ?? 0, defaults),
					// The fair pick's seed needs no cryptographic randomness.
					1 + Math.floor(Math.random() * 2147483645),
					names.length,
					...names,
				)) as [Raw[], Raw[], number, number];
				const got = decodeDeliveries(environmentId, reply[0]);
				for (const d of got) {
					deliveries.push(d);
					if (free !== undefined) {
						const need = d.message.resources;
						free = { cpu: free.cpu - need.cpu, memoryGb: free.memoryGb - need.memoryGb };
					}
				}
				if (got.length === share) filled.push(environmentId);
				if (reply[1].length > 0) this.returned(environmentId, reply[1].map(text), "visibility_timeout");
				if (reply[2] > 0 && (nextDueAt === undefined || reply[2] < nextDueAt)) nextDueAt = reply[2];
				if (reply[3] > 0) this.oldestSeen.set(environmentId, reply[3]);
				else this.oldestSeen.delete(environmentId);
			}
			order = filled;
		}
		this.observeDeliveries(request.consumerId, deliveries, now);
		return nextDueAt === undefined ? { deliveries } : { deliveries, nextDueAt };
	}

	/** Acknowledges deliveries; counts each reason per queue. */
	acknowledge(consumerId: string, items: AckItem[], field = "acknowledgements") {
		return this.settler.acknowledge(consumerId, items, field);
	}

	/** Gives deliveries back for a later try, or dead-letters them after max nacks. */
	nack(consumerId: string, items: NackItem[], field = "items") {
		return this.settler.nack(consumerId, items, field);
	}

	/** Extends deliveries' visibility by extendMs (0: each delivery's own timeout). */
	heartbeat(consumerId: string, receipts: string[], extendMs: number, field = "receipts") {
		return this.settler.heartbeat(consumerId, receipts, extendMs, field);
	}

	/** Returns a gone consumer's unsettled deliveries to their queues at once, without a nack. */
	async release(consumerId: string, receipts: string[]): Promise<number> {
		const { clock, namespace, wake } = this.context;
		const now = clock.now();
		const groups = groupByEnvironment(receipts, (r) => r, "receipts", []);
		let released = 0;
		await Promise.all(
			[...groups].map(async ([environmentId, group]) => {
				const args: Array<string | number> = [now, consumerId, group.length];
				for (const g of group) args.push(g.messageId, g.token);
				const entries = (await commandsOf(this.context).tmRelease(
					environmentBase(namespace, environmentId),
					...args,
				)) as string[];
				released += entries.length;
				if (entries.length > 0) {
					this.returned(environmentId, entries, "consumer_gone");
					wake.notify(environmentId);
				}
			}),
		);
		return released;
	}

	/**
	 * One sweep of every environment: deliveries past their visibility timeout go
	 * back, due delayed messages become ready. Returns the earliest next due time.
	 */
	async sweep(): Promise<number | undefined> {
		const { clock, namespace, wake } = this.context;
		let nextDueAt: number | undefined;
		for (const environmentId of await this.environments.all()) {
			const reply = (await commandsOf(this.context).tmReclaim(
				environmentBase(namespace, environmentId),
				clock.now(),
				1000,
			)) as [Raw[], number, number];
			const reclaimed = reply[0].map(text);
			if (reclaimed.length > 0) this.returned(environmentId, reclaimed, "visibility_timeout");
			if (reclaimed.length > 0 || reply[1] > 0) wake.notify(environmentId);
			if (reply[2] > 0 && (nextDueAt === undefined || reply[2] < nextDueAt)) nextDueAt = reply[2];
		}
		return nextDueAt;
	}

	/** Registers an environment for sweeps (queues created by UpdateQueue). */
	registerEnvironment(environmentId: string): Promise<void> {
		return this.environments.register(environmentId);
	}

	/** Counts and logs deliveries given back; entries are "<id>\x1f<header>" from the scripts. */
	private returned(environmentId: string, entries: string[], why: "visibility_timeout" | "consumer_gone") {
		const { metrics, lifecycle } = this.context;
		if (metrics.enabled) metrics.returned.add(environmentId, why, "", entries.length);
		if (!lifecycle.enabled) return;
		for (const entry of entries) {
			const cut = entry.indexOf("\x1f");
			const { runId, taskId } = headerIds(entry.slice(cut + 1));
			lifecycle.returned({ environmentId, messageId: entry.slice(0, cut), queue: "", runId, taskId }, why);
		}
	}

	private observeDeliveries(consumerId: string, deliveries: Delivery[], now: number) {
		const { metrics, lifecycle } = this.context;
		if (deliveries.length === 0) return;
		if (metrics.enabled) {
			for (const d of deliveries) metrics.delivered.add(d.message.environmentId, d.message.queue);
		}
		if (lifecycle.enabled) lifecycle.delivered(consumerId, deliveries, now);
	}

	/** A weighted random order (Efraimidis-Spirakis): older oldest messages come first more often. */
	private weightedOrder(environmentIds: readonly string[], now: number): readonly string[] {
		if (environmentIds.length < 2) return environmentIds;
		return environmentIds
			.map((id) => {
				const oldest = this.oldestSeen.get(id);
				const weight = oldest === undefined ? 1 : Math.max(1, (now - oldest) / 1000);
				return { id, key: Math.random() ** (1 / weight) };
			})
			.sort((a, b) => b.key - a.key)
			.map((e) => e.id);
	}
}
