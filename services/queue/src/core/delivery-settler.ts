import { headerIds, num, text } from "./message-codec.js";
import { commandsOf, environmentBase, type QueueContext } from "./queue-context.js";
import { settleByEnvironment } from "./settlement.js";
import { type AckReason, ackReasonName, MAX_NACKS_REACHED } from "./types.js";

type Raw = Buffer | number | string | null;

/** An acknowledgement as the core takes it. */
export interface AckItem {
	receipt: string;
	reason: AckReason;
	detail: string;
}

/** A nack as the core takes it. */
export interface NackItem {
	receipt: string;
	/** Ms since the epoch; undefined means now. */
	retryAt?: number;
	detail: string;
}

/**
 * Acknowledge, nack and heartbeat: each a batch, one script per environment,
 * counted in the queue's totals and logged per message in development.
 */
export class DeliverySettler {
	private readonly context: QueueContext;

	constructor(context: QueueContext) {
		this.context = context;
	}

	/** Acknowledges deliveries; counts each reason per queue. */
	async acknowledge(consumerId: string, items: AckItem[], field = "acknowledgements") {
		const { clock, namespace, defaults, metrics, lifecycle, wake } = this.context;
		const now = clock.now();
		let acknowledged = 0;
		const failures = await settleByEnvironment({
			items,
			receiptOf: (a) => a.receipt,
			field,
			consumerId,
			call: (environmentId, group) => {
				const retentionMs = defaults.acknowledgedRetentionSeconds * 1000;
				const args: Array<string | number> = [
					now,
					consumerId,
					retentionMs,
					lifecycle.enabled ? 1 : 0,
					group.length,
				];
				for (const g of group) args.push(`${g.messageId}\x1f${g.token}\x1f${g.item.reason}`);
				return commandsOf(this.context).tmAcknowledge(
					environmentBase(namespace, environmentId),
					...args,
				) as Promise<Raw[]>;
			},
			// Flat reply, three fields per item: code, queue, details.
			codeOf: (reply, k) => num(reply[3 * k]),
			applied: (environmentId, g, reply, k) => {
				const queue = text(reply[3 * k + 1]);
				if (metrics.enabled) metrics.acknowledgements.add(environmentId, queue, ackReasonName(g.item.reason));
				if (lifecycle.enabled) {
					// "<header>\x1f<delivered-at>": the delivery time is the last part.
					const info = text(reply[3 * k + 2]);
					const cut = info.lastIndexOf("\x1f");
					const ids = headerIds(info.slice(0, cut));
					const settled = { environmentId, messageId: g.messageId, queue, ...ids };
					const deliveredAt = Number(info.slice(cut + 1));
					lifecycle.acknowledged(
						settled,
						consumerId,
						g.item.reason,
						g.item.detail,
						ids.enqueuedAt,
						deliveredAt,
						now,
					);
				}
			},
			done: (environmentId, applied, reply) => {
				acknowledged += applied;
				// Freed capacity only matters where a limit holds consumers back; a consumer
				// waiting for resources is woken by its own acknowledgements.
				const limited = num(reply[reply.length - 1]) === 1 || defaults.concurrencyLimit > 0;
				if (applied > 0 && limited) wake.notify(environmentId);
			},
		});
		return { acknowledged, failures };
	}

	/** Gives deliveries back for a later try, or dead-letters them after max nacks. */
	async nack(consumerId: string, items: NackItem[], field = "items") {
		const { clock, namespace, defaults, metrics, lifecycle, wake } = this.context;
		const now = clock.now();
		let requeued = 0;
		let deadLettered = 0;
		const failures = await settleByEnvironment({
			items,
			receiptOf: (a) => a.receipt,
			field,
			consumerId,
			call: (environmentId, group) => {
				const args: Array<string | number> = [now, consumerId, defaults.maxNacks, group.length];
				for (const g of group) args.push(g.messageId, g.token, g.item.retryAt ?? now, g.item.detail);
				return commandsOf(this.context).tmNack(environmentBase(namespace, environmentId), ...args) as Promise<
					Raw[][]
				>;
			},
			codeOf: (reply, k) => num(reply[k]?.[0]),
			applied: (environmentId, g, reply, k) => {
				const r = reply[k] as Raw[];
				const queue = text(r[1]);
				const wentDead = num(r[3]) === 1;
				if (wentDead) deadLettered += 1;
				else requeued += 1;
				if (metrics.enabled) {
					metrics.nacks.add(environmentId, queue);
					if (wentDead) metrics.acknowledgements.add(environmentId, queue, ackReasonName(MAX_NACKS_REACHED));
				}
				if (lifecycle.enabled) {
					const settled = { environmentId, messageId: g.messageId, queue, ...headerIds(text(r[4])) };
					lifecycle.nacked(settled, consumerId, num(r[2]), wentDead, g.item.detail);
				}
			},
			done: (environmentId) => wake.notify(environmentId),
		});
		return { requeued, deadLettered, failures };
	}

	/** Extends deliveries' visibility by extendMs (0: each delivery's own timeout). */
	async heartbeat(consumerId: string, receipts: string[], extendMs: number, field = "receipts") {
		const { clock, namespace, lifecycle } = this.context;
		const now = clock.now();
		let extended = 0;
		const failures = await settleByEnvironment({
			items: receipts,
			receiptOf: (r) => r,
			field,
			consumerId,
			call: (environmentId, group) => {
				const args: Array<string | number> = [now, consumerId, extendMs, group.length];
				for (const g of group) args.push(g.messageId, g.token);
				return commandsOf(this.context).tmHeartbeat(
					environmentBase(namespace, environmentId),
					...args,
				) as Promise<Raw[][]>;
			},
			codeOf: (reply, k) => num(reply[k]?.[0]),
			applied: (environmentId, g, reply, k) => {
				const r = reply[k] as Raw[];
				extended += 1;
				if (lifecycle.enabled) {
					const settled = {
						environmentId,
						messageId: g.messageId,
						queue: text(r[1]),
						...headerIds(text(r[3])),
					};
					lifecycle.heartbeated(settled, consumerId, num(r[2]));
				}
			},
		});
		return { extended, failures };
	}
}
