import type { FairQueue } from "./fair-queue.js";
import { selectorPlan } from "./selector-plan.js";
import type { DeliverRequest, DeliverResult, Delivery, Resources } from "./types.js";
import { type HandoffTaker, type HandoffTerms, offerFor } from "./waiting-consumers.js";

/**
 * Delivers what is deliverable now; when nothing is, waits up to waitMs for the
 * first message (woken by enqueues, freed capacity or a due time, not by a
 * polling sleep) and tries again. While it waits, a message enqueued alone on
 * this process may be handed to it by the enqueue script (see WaitingConsumers),
 * which ends the wait with that message. `signal` aborts when the caller has gone
 * (cancelled, past its deadline, or the server stopped first): what was delivered
 * by then goes back to its queues at once instead of at its visibility timeout,
 * since the answer will reach nobody.
 */
export async function dequeueWaiting(
	queue: FairQueue,
	request: DeliverRequest,
	waitMs: number,
	signal: AbortSignal,
): Promise<DeliverResult> {
	const result = await deliverOrWait(queue, request, waitMs, signal);
	if (!signal.aborted || result.deliveries.length === 0) return result;
	await queue.release(
		request.consumerId,
		result.deliveries.map((d) => d.receipt),
	);
	return { deliveries: [] };
}

/** Delivers, or waits for a first message (handed over, or found after a wake-up); empty once the caller has gone. */
async function deliverOrWait(
	queue: FairQueue,
	request: DeliverRequest,
	waitMs: number,
	signal: AbortSignal,
): Promise<DeliverResult> {
	const { wake, clock } = queue.resources;
	const deadline = Date.now() + waitMs;
	const environments = selectorPlan(request.selectors).environmentIds;
	for (;;) {
		const seen = new Map(environments.map((e) => [e, wake.version(e)]));
		const result = await queue.deliver(request);
		if (result.deliveries.length > 0 || Date.now() >= deadline || signal.aborted) return result;
		let until = deadline;
		if (result.nextDueAt !== undefined) {
			until = Math.min(until, Date.now() + Math.max(0, result.nextDueAt - clock.now()));
		}
		const handedOver = new AbortController();
		const taker = new WaitingDequeue(request, () => handedOver.abort());
		queue.waiting.add(environments, taker);
		try {
			await wake.wait(seen, until, AbortSignal.any([signal, handedOver.signal]));
		} finally {
			queue.waiting.remove(environments, taker);
		}
		// A message may be on its way to this Dequeue: it is answered with it rather than
		// left in flight to a consumer that was never told.
		const delivery = await taker.stop();
		if (delivery !== undefined) return { deliveries: [delivery] };
		// The caller went while it waited: no delivery script for an answer nobody reads.
		if (signal.aborted) return { deliveries: [] };
	}
}

/**
 * A waiting Dequeue as a taker of hand-offs: it takes one message, and only one
 * at a time is reserved for it, since the first ends its wait.
 */
class WaitingDequeue implements HandoffTaker {
	private readonly request: DeliverRequest;
	private readonly handedOver: () => void;
	private stopped = false;
	private delivery: Delivery | undefined;
	/** Set while a reservation is out; resolved when it settles. */
	private pending: { settled: Promise<void>; resolve: () => void } | undefined;

	constructor(request: DeliverRequest, handedOver: () => void) {
		this.request = request;
		this.handedOver = handedOver;
	}

	reserve(environmentId: string, queue: string, need: Resources): HandoffTerms | undefined {
		if (this.stopped || this.pending !== undefined || this.delivery !== undefined) return undefined;
		const { selectors, consumerId, free, visibilityMs } = this.request;
		const terms = offerFor(selectors, environmentId, queue, need, consumerId, free, visibilityMs);
		if (terms === undefined) return undefined;
		let resolve = () => {};
		const settled = new Promise<void>((r) => {
			resolve = r;
		});
		this.pending = { settled, resolve };
		return terms;
	}

	settle(delivery: Delivery | undefined): void {
		const pending = this.pending;
		this.pending = undefined;
		if (delivery !== undefined) {
			this.delivery = delivery;
			this.handedOver();
		}
		pending?.resolve();
	}

	/** Takes no more; resolves, once a reservation still out has settled, with what was handed over. */
	async stop(): Promise<Delivery | undefined> {
		this.stopped = true;
		await this.pending?.settled;
		return this.delivery;
	}
}
