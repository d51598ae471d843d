import { type Attributes, type Span, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("taskmesh.queue");

/**
 * One span per period for a long-lived consumer instead of one per message:
 * counts add up on the current span, which ends and gives way to a new one
 * when its period is over (and when the consumer goes).
 */
export class RotatingSpan {
	private span: Span | undefined;
	private startedAt = 0;
	private counts: Record<string, number> = {};
	private readonly name: string;
	private readonly attributes: Attributes;
	private readonly periodMs: number;
	private readonly enabled: boolean;

	constructor(options: { name: string; attributes: Attributes; periodMs: number; enabled: boolean }) {
		this.name = options.name;
		this.attributes = options.attributes;
		this.periodMs = options.periodMs;
		this.enabled = options.enabled;
	}

	/** Adds n to a count of the current period's span. */
	count(what: string, n: number): void {
		if (!this.enabled) return;
		const now = Date.now();
		if (this.span === undefined || now - this.startedAt >= this.periodMs) {
			this.end();
			this.span = tracer.startSpan(this.name, { attributes: this.attributes });
			this.startedAt = now;
		}
		this.counts[what] = (this.counts[what] ?? 0) + n;
	}

	/** Ends the current span with its counts. */
	end(): void {
		if (this.span === undefined) return;
		this.span.setAttributes(this.counts);
		this.span.end();
		this.span = undefined;
		this.counts = {};
	}
}
