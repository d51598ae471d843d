import { type Attributes, metrics, type ObservableResult } from "@opentelemetry/api";

/** One attribute set's running total. */
interface Total {
	readonly attributes: Attributes;
	n: number;
}

/**
 * Running totals of one counter per attribute set, kept in the process and read
 * by the metrics SDK at each collection (an observable counter). A synchronous
 * counter's add() hashes its attributes (sorting their keys into a new string)
 * on every call; at 500 one-message requests a second that was several calls and
 * about 2 KB of garbage per message. Here a count is three map lookups, and the
 * attribute object of a set is made once, the first time the set is counted.
 */
export class CountTotals {
	private readonly totals = new Map<string, Map<string, Map<string, Total>>>();
	private readonly names: readonly [string, string, string?];

	/** `names`: the attributes the two or three parts of add() are reported as. */
	constructor(...names: [string, string, string?]) {
		this.names = names;
	}

	/** Counts n more for an attribute set (the third part only for counters with three). */
	add(first: string, second: string, third = "", n = 1): void {
		let bySecond = this.totals.get(first);
		if (bySecond === undefined) {
			bySecond = new Map();
			this.totals.set(first, bySecond);
		}
		let byThird = bySecond.get(second);
		if (byThird === undefined) {
			byThird = new Map();
			bySecond.set(second, byThird);
		}
		const total = byThird.get(third);
		if (total !== undefined) {
			total.n += n;
			return;
		}
		const [firstName, secondName, thirdName] = this.names;
		const attributes: Attributes = { [firstName]: first, [secondName]: second };
		if (thirdName !== undefined) attributes[thirdName] = third;
		byThird.set(third, { attributes, n });
	}

	/** Reports every total (the SDK turns them into deltas where the exporter wants those). */
	observe(result: ObservableResult): void {
		for (const bySecond of this.totals.values()) {
			for (const byThird of bySecond.values()) {
				for (const total of byThird.values()) result.observe(total.n, total.attributes);
			}
		}
	}
}

/**
 * The queue's OpenTelemetry counters, as totals the SDK observes at each
 * collection, so the delivery path pays a few map lookups per message and no SDK
 * call. Registered with the global meter provider at construction, when enabled.
 */
export class QueueMetrics {
	readonly enabled: boolean;
	readonly enqueued = new CountTotals("environment_id", "queue");
	readonly delivered = new CountTotals("environment_id", "queue");
	readonly acknowledgements = new CountTotals("environment_id", "queue", "reason");
	readonly nacks = new CountTotals("environment_id", "queue");
	readonly returned = new CountTotals("environment_id", "why");

	constructor(options: { enabled: boolean }) {
		this.enabled = options.enabled;
		if (!this.enabled) return;
		const meter = metrics.getMeter("taskmesh.queue");
		const counter = (name: string, description: string, totals: CountTotals) =>
			meter.createObservableCounter(name, { description }).addCallback((result) => totals.observe(result));
		counter("taskmesh.queue.enqueued", "Messages stored by Enqueue (duplicates excluded)", this.enqueued);
		counter("taskmesh.queue.delivered", "Deliveries made to consumers", this.delivered);
		counter(
			"taskmesh.queue.acknowledgements",
			"Acknowledgements per queue and reason, including dead-lettering (max_nacks_reached)",
			this.acknowledgements,
		);
		counter("taskmesh.queue.nacks", "Deliveries nacked", this.nacks);
		counter(
			"taskmesh.queue.returned",
			"Deliveries returned without a nack (visibility timeout, consumer gone)",
			this.returned,
		);
	}
}
