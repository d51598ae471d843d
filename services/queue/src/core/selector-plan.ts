import type { Selector } from "./types.js";

/** What a consumer's selectors ask of each environment: queue names, or none for all of them. */
export interface SelectorPlan {
	queuesByEnvironment: Map<string, readonly string[]>;
	environmentIds: readonly string[];
}

/** A plan's queue list for an environment whose every queue is asked for. */
export const NO_NAMES: readonly string[] = [];

/** Plans by selector list. */
const plans = new WeakMap<readonly Selector[], SelectorPlan>();

/**
 * The plan of a selector list. A Consume stream passes the same list to every
 * delivery script it runs (one per message at a steady rate) and to every hand-off
 * it is offered, so its plan is worked out once.
 */
export function selectorPlan(selectors: readonly Selector[]): SelectorPlan {
	let plan = plans.get(selectors);
	if (plan !== undefined) return plan;
	const named = new Map<string, string[] | "all">();
	for (const s of selectors) {
		const known = named.get(s.environmentId);
		if (s.queues.length === 0 || known === "all") named.set(s.environmentId, "all");
		else named.set(s.environmentId, [...new Set([...(known ?? []), ...s.queues])]);
	}
	const queuesByEnvironment = new Map<string, readonly string[]>();
	for (const [environmentId, queues] of named)
		queuesByEnvironment.set(environmentId, queues === "all" ? NO_NAMES : queues);
	plan = { queuesByEnvironment, environmentIds: [...named.keys()] };
	plans.set(selectors, plan);
	return plan;
}
