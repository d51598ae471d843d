import type { Logger } from "pino";
import type { Delivery, NewMessage } from "./types.js";
import { ackReasonName } from "./types.js";

/** What the log needs to know about one settled delivery. */
export interface SettledItem {
	environmentId: string;
	messageId: string;
	queue: string;
	runId: string;
	taskId: string;
}

/**
 * One log line per step of each message's life, for development environments:
 * enqueued, delivered (to which consumer), heartbeated, nacked, acknowledged
 * (reason, time since enqueue and since delivery), returned. Every line carries
 * run_id, task_id and environment_id, so a developer can follow one message.
 * Off in production, where per-message lines would cost more than the work.
 */
export class LifecycleLog {
	readonly enabled: boolean;
	private readonly logger: Logger;

	constructor(options: { logger: Logger; enabled: boolean }) {
		this.logger = options.logger;
		this.enabled = options.enabled;
	}

	/** Logs stored messages (duplicates are logged as such). */
	enqueued(messages: NewMessage[], duplicates: boolean[], now: number): void {
		messages.forEach((m, i) => {
			this.logger.info(
				{
					event: duplicates[i] ? "enqueue_duplicate" : "enqueued",
					...this.ids(m.environmentId, m.id, m.queue, m.metadata.runId, m.metadata.taskId),
					priority: m.priority,
					concurrency_key: m.concurrencyKey || undefined,
					delay_ms: m.availableAt !== undefined ? Math.max(0, m.availableAt - now) : 0,
					labels: m.metadata.labels,
				},
				duplicates[i] ? "message already stored; left as it was" : "message enqueued",
			);
		});
	}

	/** Logs deliveries to one consumer. */
	delivered(consumerId: string, deliveries: Delivery[], now: number): void {
		for (const d of deliveries) {
			const m = d.message;
			this.logger.info(
				{
					event: "delivered",
					...this.ids(m.environmentId, m.id, m.queue, m.metadata.runId, m.metadata.taskId),
					consumer_id: consumerId,
					delivery_count: d.deliveryCount,
					ms_since_enqueue: now - m.enqueuedAt,
					visible_until: new Date(d.visibleUntil).toISOString(),
				},
				"message delivered",
			);
		}
	}

	/** Logs an acknowledgement with its reason and timings. */
	acknowledged(
		item: SettledItem,
		consumerId: string,
		reason: number,
		detail: string,
		enqueuedAt: number,
		deliveredAt: number,
		now: number,
	): void {
		this.logger.info(
			{
				event: "acknowledged",
				...this.ids(item.environmentId, item.messageId, item.queue, item.runId, item.taskId),
				consumer_id: consumerId,
				reason: ackReasonName(reason),
				detail: detail || undefined,
				ms_since_enqueue: now - enqueuedAt,
				ms_since_delivery: now - deliveredAt,
			},
			"message acknowledged",
		);
	}

	/** Logs a nack, and whether it dead-lettered the message. */
	nacked(
		item: SettledItem,
		consumerId: string,
		nackCount: number,
		deadLettered: boolean,
		detail: string,
	): void {
		this.logger.info(
			{
				event: deadLettered ? "dead_lettered" : "nacked",
				...this.ids(item.environmentId, item.messageId, item.queue, item.runId, item.taskId),
				consumer_id: consumerId,
				nack_count: nackCount,
				reason: deadLettered ? ackReasonName(6) : undefined,
				detail: detail || undefined,
			},
			deadLettered ? "message dead-lettered after its last nack" : "message nacked",
		);
	}

	/** Logs a visibility extension. */
	heartbeated(item: SettledItem, consumerId: string, visibleUntil: number): void {
		this.logger.info(
			{
				event: "heartbeated",
				...this.ids(item.environmentId, item.messageId, item.queue, item.runId, item.taskId),
				consumer_id: consumerId,
				visible_until: new Date(visibleUntil).toISOString(),
			},
			"message heartbeated",
		);
	}

	/** Logs a delivery that went back to its queue without a nack. */
	returned(item: SettledItem, why: "visibility_timeout" | "consumer_gone"): void {
		this.logger.info(
			{
				event: "returned",
				...this.ids(item.environmentId, item.messageId, item.queue || undefined, item.runId, item.taskId),
				why,
			},
			why === "consumer_gone"
				? "consumer gone; delivery returned to its queue"
				: "visibility timeout passed; delivery returned to its queue",
		);
	}

	private ids(
		environmentId: string,
		messageId: string,
		queue: string | undefined,
		runId: string,
		taskId: string,
	) {
		return { environment_id: environmentId, message_id: messageId, queue, run_id: runId, task_id: taskId };
	}
}
