import { NO_NAMES, selectorPlan } from "./selector-plan.js";
import type { Delivery, Resources, Selector } from "./types.js";

/** What a waiting consumer gives a message handed to it at enqueue (see enqueue-1.lua). */
export interface HandoffTerms {
	consumerId: string;
	/** Undefined: no limit. */
	free?: Resources;
	/** Undefined: each queue's own. */
	visibilityMs?: number;
}

/** A consumer waiting for messages that can take one as it is enqueued. */
export interface HandoffTaker {
	/**
	 * Sets one credit aside, and the message's needs out of the free resources the
	 * consumer stated, for a message of this environment and queue; undefined when
	 * the consumer does not read that queue, has no credit left or the message does
	 * not fit.
	 */
	reserve(environmentId: string, queue: string, need: Resources): HandoffTerms | undefined;
	/**
	 * The reserved message was handed over (its delivery), or was not (undefined:
	 * the credit and the resources set aside come back).
	 */
	settle(delivery: Delivery | undefined, need: Resources): void;
}

/**
 * The terms a consumer reading `selectors`, with `free` resources left (undefined:
 * no limit), offers for a message of this environment and queue; undefined when
 * it does not read that queue or the message does not fit. What both kinds of
 * taker check before they set anything aside.
 */
export function offerFor(
	selectors: readonly Selector[],
	environmentId: string,
	queue: string,
	need: Resources,
	consumerId: string,
	free: Resources | undefined,
	visibilityMs: number | undefined,
): HandoffTerms | undefined {
	const reads = selectorPlan(selectors).queuesByEnvironment.get(environmentId);
	if (reads === undefined || (reads !== NO_NAMES && !reads.includes(queue))) return undefined;
	const terms: HandoffTerms = { consumerId };
	if (free !== undefined) {
		if (need.cpu > free.cpu + 1e-9 || need.memoryGb > free.memoryGb + 1e-9) return undefined;
		terms.free = free;
	}
	if (visibilityMs !== undefined) terms.visibilityMs = visibilityMs;
	return terms;
}

/** A reservation made: the taker to settle with, its terms and the message's needs. */
export interface Handoff {
	taker: HandoffTaker;
	terms: HandoffTerms;
	need: Resources;
}

/**
 * The consumers of this process that are waiting for messages, by environment.
 * A message enqueued one at a time while one of them waits can go to it in the
 * enqueue script itself: one script per message instead of an enqueue, a wake-up
 * and a delivery script that undoes what the enqueue wrote.
 */
export class WaitingConsumers {
	private readonly byEnvironment = new Map<string, Set<HandoffTaker>>();

	/** A taker begins to wait on these environments. */
	add(environmentIds: readonly string[], taker: HandoffTaker): void {
		for (const environmentId of environmentIds) {
			let set = this.byEnvironment.get(environmentId);
			if (set === undefined) {
				set = new Set();
				this.byEnvironment.set(environmentId, set);
			}
			set.add(taker);
		}
	}

	/** A taker stops waiting. */
	remove(environmentIds: readonly string[], taker: HandoffTaker): void {
		for (const environmentId of environmentIds) {
			const set = this.byEnvironment.get(environmentId);
			if (set === undefined) continue;
			set.delete(taker);
			if (set.size === 0) this.byEnvironment.delete(environmentId);
		}
	}

	/** Whether a taker is waiting on an environment now. */
	isWaiting(environmentId: string, taker: HandoffTaker): boolean {
		return this.byEnvironment.get(environmentId)?.has(taker) ?? false;
	}

	/**
	 * Reserves a credit of a waiting consumer that reads this queue; the taker,
	 * moved to the end of the environment's order so that takers alternate, must
	 * be settled. Undefined when none can take it.
	 */
	reserve(environmentId: string, queue: string, need: Resources): Handoff | undefined {
		const set = this.byEnvironment.get(environmentId);
		if (set === undefined) return undefined;
		for (const taker of set) {
			const terms = taker.reserve(environmentId, queue, need);
			if (terms === undefined) continue;
			set.delete(taker);
			set.add(taker);
			return { taker, terms, need };
		}
		return undefined;
	}
}
