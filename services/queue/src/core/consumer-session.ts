import { ConsumerWait } from "./consumer-wait.js";
import type { FairQueue } from "./fair-queue.js";
import { RotatingSpan } from "./rotating-span.js";
import { selectorPlan } from "./selector-plan.js";
import type { DeliverRequest, Delivery, Resources, Selector } from "./types.js";
import { type HandoffTaker, type HandoffTerms, offerFor } from "./waiting-consumers.js";

/** What a streaming consumer is. */
export interface ConsumerSessionOptions {
	queue: FairQueue;
	consumerId: string;
	selectors: Selector[];
	/** Undefined takes each queue's own. */
	visibilityMs?: number;
	/** Free resources stated at the start; undefined means no limit. */
	free?: Resources;
	/** Sends a batch to the consumer; resolves when the transport can take more. */
	push: (deliveries: Delivery[]) => Promise<void>;
	/** Most deliveries in one batch. */
	maxBatch: number;
	/** Longest idle wait before looking again when no wake-up came (a safety net). */
	idleRecheckMs: number;
	/** Whether to record a rotating span. */
	telemetry: boolean;
	/** How long each rotating span covers, ms. */
	spanPeriodMs: number;
}

/**
 * A long-lived consumer: pushes messages as soon as they are deliverable and
 * credits allow, with no polling sleep on the delivery path (it waits on the
 * wake bus, a delayed message's due time, or new credits). Remembers its
 * unsettled deliveries and gives them back when it closes.
 */
export class ConsumerSession implements HandoffTaker {
	private readonly options: ConsumerSessionOptions;
	/** Set when run() stops: a message handed over later goes straight back. */
	private ended = false;
	private credits = 0;
	private stated: Resources | undefined;
	/** Unsettled deliveries by receipt, with what each takes of the stated resources. */
	private readonly unsettled = new Map<string, Resources | undefined>();
	private taken: Resources = { cpu: 0, memoryGb: 0 };
	/**
	 * The needs of messages being handed over at enqueue, not yet settled. Apart from
	 * taken: a new statement of free resources counts what the consumer has, and it
	 * has not got these yet.
	 */
	private reserved: Resources = { cpu: 0, memoryGb: 0 };
	/** The current wait, which new credits, newly stated resources or settled deliveries end early. */
	private waits: ConsumerWait | undefined;
	private readonly span: RotatingSpan;

	constructor(options: ConsumerSessionOptions) {
		this.options = options;
		this.stated = options.free;
		this.span = new RotatingSpan({
			name: "queue.consume",
			attributes: { "taskmesh.consumer_id": options.consumerId },
			periodMs: options.spanPeriodMs,
			enabled: options.telemetry,
		});
	}

	/**
	 * Sets a credit aside for a message enqueued while this session waits (see
	 * WaitingConsumers), and with stated resources the message's needs too: until
	 * it is settled, the session's own deliveries see them as taken, so the two
	 * together never exceed what the consumer stated.
	 */
	reserve(environmentId: string, queue: string, need: Resources): HandoffTerms | undefined {
		if (this.ended || this.credits <= 0) return undefined;
		const { selectors, consumerId, visibilityMs } = this.options;
		const terms = offerFor(selectors, environmentId, queue, need, consumerId, this.freeNow(), visibilityMs);
		if (terms === undefined) return undefined;
		// Counted whether or not resources are stated now: one may be stated before it settles.
		this.reserved = add(this.reserved, need, 1);
		this.credits -= 1;
		return terms;
	}

	/** Takes a message handed over at enqueue, or what was set aside for it back. */
	settle(delivery: Delivery | undefined, need: Resources): void {
		this.reserved = add(this.reserved, need, -1);
		if (delivery === undefined) {
			this.addCredits(1);
			// Freed resources may let a message fit that did not.
			if (this.stated !== undefined) this.waits?.finish();
			return;
		}
		if (this.ended) {
			// The stream is gone: give the message back at once rather than at its timeout.
			void this.options.queue.release(this.options.consumerId, [delivery.receipt]).catch(() => {});
			return;
		}
		this.track([delivery]);
		this.span.count("deliveries", 1);
		// The stream's own pushes wait for room; this one goes in line with them.
		void this.options.push([delivery]).catch(() => {});
	}

	/** Grants credits; a stated free amount replaces the last one. */
	addCredits(credits: number, free?: Resources): void {
		const hadNone = this.credits <= 0;
		this.credits += credits;
		if (free !== undefined) {
			this.stated = free;
			// Deliveries made before this statement are already counted in it.
			for (const receipt of this.unsettled.keys()) this.unsettled.set(receipt, undefined);
			this.taken = { cpu: 0, memoryGb: 0 };
		}
		// A session that still had credits is waiting for messages, not for credits:
		// more credits change nothing it could deliver (each batch a consumer acks
		// gives credits back, and asking Redis again for nothing cost a round trip).
		if (hadNone || free !== undefined) this.waits?.finish();
	}

	/**
	 * Forgets held deliveries so close() does not return them: their work runs on and
	 * someone else settles them. Their resources stay taken until the consumer states
	 * its free resources again. Returns how many were this session's unsettled ones.
	 */
	held(receipts: string[]): number {
		let held = 0;
		for (const receipt of receipts) if (this.unsettled.delete(receipt)) held++;
		this.span.count("held", held);
		return held;
	}

	/** Forgets settled deliveries (acknowledged, nacked) so close() does not return them. */
	settled(receipts: string[], what: "acknowledged" | "nacked" | "heartbeated"): void {
		if (what !== "heartbeated") {
			for (const receipt of receipts) {
				const need = this.unsettled.get(receipt);
				if (need !== undefined) {
					this.taken = add(this.taken, need, -1);
				}
				this.unsettled.delete(receipt);
			}
			// Freed resources may let a message fit that did not.
			if (this.stated !== undefined) this.waits?.finish();
		}
		this.span.count(what, receipts.length);
	}

	/** Delivers until the signal aborts; rejects when the store fails. */
	async run(signal: AbortSignal): Promise<void> {
		const { queue, consumerId, selectors, visibilityMs, maxBatch, idleRecheckMs } = this.options;
		const clock = queue.resources.clock;
		const environments = selectorPlan(selectors).environmentIds;
		const waits = new ConsumerWait(queue.resources.wake, environments, signal);
		this.waits = waits;
		signal.addEventListener("abort", this.stopTaking, { once: true });
		try {
			while (!signal.aborted) {
				if (this.credits <= 0) {
					await waits.forFinish();
					continue;
				}
				waits.snapshot();
				const max = Math.min(this.credits, maxBatch);
				const request: DeliverRequest = { consumerId, selectors, max };
				const free = this.freeNow();
				if (free !== undefined) request.free = free;
				if (visibilityMs !== undefined) request.visibilityMs = visibilityMs;
				const result = await queue.deliver(request);
				if (result.deliveries.length > 0) {
					this.credits -= result.deliveries.length;
					this.track(result.deliveries);
					this.span.count("deliveries", result.deliveries.length);
					if (signal.aborted) break;
					await this.options.push(result.deliveries);
					// A full batch means more may be waiting; a short one means the queues were
					// drained when looked at, so wait for a change (one made meanwhile ends the
					// wait at once) instead of asking again for nothing.
					if (result.deliveries.length === max) continue;
				}
				let delayMs = idleRecheckMs;
				if (result.nextDueAt !== undefined) {
					delayMs = Math.min(delayMs, Math.max(0, result.nextDueAt - clock.now()));
				}
				// While it waits, a message enqueued on this process may be handed to it.
				queue.waiting.add(environments, this);
				try {
					await waits.forChange(delayMs);
				} finally {
					queue.waiting.remove(environments, this);
				}
			}
		} finally {
			this.stopTaking();
			signal.removeEventListener("abort", this.stopTaking);
			this.waits = undefined;
			waits.close();
		}
	}

	/**
	 * Ends the session keeping its unsettled deliveries in flight (the server is
	 * draining and the consumer will settle them on a stream elsewhere); returns
	 * how many. They go back at their visibility timeout if it never does.
	 */
	detach(): number {
		this.span.end();
		const kept = this.unsettled.size;
		this.unsettled.clear();
		return kept;
	}

	/** Gives every unsettled delivery back to its queue and ends the span. */
	async close(): Promise<number> {
		this.span.end();
		const receipts = [...this.unsettled.keys()];
		this.unsettled.clear();
		if (receipts.length === 0) return 0;
		return this.options.queue.release(this.options.consumerId, receipts);
	}

	private readonly stopTaking = () => {
		this.ended = true;
	};

	/** Remembers deliveries as unsettled, with what they take of the stated resources. */
	private track(deliveries: Delivery[]): void {
		for (const d of deliveries) {
			const need = this.stated === undefined ? undefined : d.message.resources;
			this.unsettled.set(d.receipt, need);
			if (need !== undefined) this.taken = add(this.taken, need, 1);
		}
	}

	private freeNow(): Resources | undefined {
		if (this.stated === undefined) return undefined;
		return {
			cpu: Math.max(0, this.stated.cpu - this.taken.cpu - this.reserved.cpu),
			memoryGb: Math.max(0, this.stated.memoryGb - this.taken.memoryGb - this.reserved.memoryGb),
		};
	}
}

/** a + sign × b. */
function add(a: Resources, b: Resources, sign: 1 | -1): Resources {
	return { cpu: a.cpu + sign * b.cpu, memoryGb: a.memoryGb + sign * b.memoryGb };
}
