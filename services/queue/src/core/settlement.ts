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
