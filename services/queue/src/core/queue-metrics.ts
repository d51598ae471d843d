import { type Counter, metrics } from "@opentelemetry/api";

/** Adds up counts per attribute set, so a batch makes one counter call per set. */
export class CountBatch {
	private readonly counts = new Map<string, { attrs: Record<string, string>; n: number }>();
	// A batch is mostly one queue and reason, so the last entry is tried before the map.
	private lastEnvironment = "";
	private lastQueue = "";
	private lastReason: string | undefined;
	private lastEntry: { n: number } | undefined;

	/** Counts one more for an environment, a queue and optionally a reason or cause. */
	add(environmentId: string, queue: string, reason?: string): void {
		if (
			this.lastEntry !== undefined &&
			queue === this.lastQueue &&
			reason === this.lastReason &&
			environmentId === this.lastEnvironment
		) {
			this.lastEntry.n += 1;
			return;
		}
		const key = reason === undefined ? `${environmentId}|${queue}` : `${environmentId}|${queue}|${reason}`;
		let entry = this.counts.get(key);
		if (entry === undefined) {
			const attrs: Record<string, string> = { environment_id: environmentId, queue };
			if (reason !== undefined) attrs.reason = reason;
			entry = { attrs, n: 0 };
			this.counts.set(key, entry);
		}
		entry.n += 1;
		this.lastEnvironment = environmentId;
		this.lastQueue = queue;
		this.lastReason = reason;
		this.lastEntry = entry;
	}

	/** Sends the sums to a counter. */
	flush(counter: Counter): void {
		for (const { attrs, n } of this.counts.values()) counter.add(n, attrs);
	}
}

/**
 * The queue's OpenTelemetry counters. Counted per batch, never per message,
 * so the delivery path pays one counter call per queue and batch. Created
 * from the global meter provider at construction.
 */
export class QueueMetrics {
	readonly enabled: boolean;
	readonly enqueued: Counter;
	readonly delivered: Counter;
	readonly acknowledgements: Counter;
	readonly nacks: Counter;
	readonly returned: Counter;

	constructor(options: { enabled: boolean }) {
		this.enabled = options.enabled;
		const meter = metrics.getMeter("taskmesh.queue");
		this.enqueued = meter.createCounter("taskmesh.queue.enqueued", {
			description: "Messages stored by Enqueue (duplicates excluded)",
		});
		this.delivered = meter.createCounter("taskmesh.queue.delivered", {
			description: "Deliveries made to consumers",
		});
		this.acknowledgements = meter.createCounter("taskmesh.queue.acknowledgements", {
			description: "Acknowledgements per queue and reason, including dead-lettering (max_nacks_reached)",
		});
		this.nacks = meter.createCounter("taskmesh.queue.nacks", { description: "Deliveries nacked" });
		this.returned = meter.createCounter("taskmesh.queue.returned", {
			description: "Deliveries returned without a nack (visibility timeout, consumer gone)",
		});
	}
}
