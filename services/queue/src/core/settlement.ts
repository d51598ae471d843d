import { decodeReceipt } from "./receipt.js";
import type { ItemFailure } from "./types.js";

/** One item of a settling call, with its receipt decoded. */
export interface ReceiptItem<T> {
	index: number;
	messageId: string;
	token: string;
	item: T;
}

/**
 * Splits a batch by environment (one script call each, since each environment
 * lives in its own hash slot). Receipts that are not ours fail as NOT_FOUND.
 */
export function groupByEnvironment<T>(
	items: T[],
	receiptOf: (item: T) => string,
	field: string,
	failures: ItemFailure[],
): Map<string, Array<ReceiptItem<T>>> {
	const groups = new Map<string, Array<ReceiptItem<T>>>();
	items.forEach((item, index) => {
		const parts = decodeReceipt(receiptOf(item));
		if (parts === undefined) {
			failures.push({
				index,
				id: "",
				code: "NOT_FOUND",
				message: `${field}[${index}].receipt: not a receipt this queue issued`,
			});
			return;
		}
		let group = groups.get(parts.environmentId);
		if (group === undefined) {
			group = [];
			groups.set(parts.environmentId, group);
		}
		group.push({ index, messageId: parts.messageId, token: parts.token, item });
	});
	return groups;
}

/** The failure for a script's code for one item, or undefined when it was applied. */
export function failureOf(
	code: number,
	index: number,
	messageId: string,
	field: string,
	consumerId: string,
): ItemFailure | undefined {
	switch (code) {
		case 1:
			return undefined;
		case -2:
			return {
				index,
				id: messageId,
				code: "FAILED_PRECONDITION",
				message: `${field}[${index}].receipt: message "${messageId}" was already acknowledged`,
			};
		case -3:
			return {
				index,
				id: messageId,
				code: "FAILED_PRECONDITION",
				message: `${field}[${index}].receipt: message "${messageId}" was delivered to another consumer, not "${consumerId}"`,
			};
		default:
			return {
				index,
				id: messageId,
				code: "NOT_FOUND",
				message: `${field}[${index}].receipt: no delivery of message "${messageId}" matches (never delivered, already settled, or redelivered since; its visibility timeout may have passed)`,
			};
	}
}

/** How one settling call runs per environment and reads its script's reply. */
export interface SettleSteps<T, R> {
	items: T[];
	receiptOf: (item: T) => string;
	/** The request field the items came in, for failure messages. */
	field: string;
	consumerId: string;
	/** Runs the script for one environment's items. */
	call: (environmentId: string, group: Array<ReceiptItem<T>>) => Promise<R>;
	/** The script's code for the k-th item of the group. */
	codeOf: (reply: R, k: number) => number;
	/** Called for each applied item. */
	applied: (environmentId: string, item: ReceiptItem<T>, reply: R, k: number) => void;
	/** Called once per environment with how many items were applied, and the reply. */
	done?: (environmentId: string, appliedCount: number, reply: R) => void;
}

/**
 * Runs a settling call (acknowledge, nack, heartbeat): one script per environment
 * in parallel, each item's code turned into a failure or handed to `applied`.
 * Returns the failures in request order.
 */
export async function settleByEnvironment<T, R>(steps: SettleSteps<T, R>): Promise<ItemFailure[]> {
	const failures: ItemFailure[] = [];
	const groups = groupByEnvironment(steps.items, steps.receiptOf, steps.field, failures);
	await Promise.all(
		[...groups].map(async ([environmentId, group]) => {
			const reply = await steps.call(environmentId, group);
			let count = 0;
			group.forEach((g, k) => {
				const failure = failureOf(
					steps.codeOf(reply, k),
					g.index,
					g.messageId,
					steps.field,
					steps.consumerId,
				);
				if (failure !== undefined) {
					failures.push(failure);
					return;
				}
				count += 1;
				steps.applied(environmentId, g, reply, k);
			});
			steps.done?.(environmentId, count, reply);
		}),
	);
	return failures.sort((a, b) => a.index - b.index);
}
