import { IDENT, NAME, TOKEN } from "./names.js";

/**
 * Receipts name one delivery: the environment (so an acknowledgement finds the
 * hash-tagged keys), the message id and the per-delivery token, joined by "|",
 * which names and tokens never contain. Callers treat receipts as opaque; they
 * are plain text because every delivery and acknowledgement carries one.
 */
export interface ReceiptParts {
	environmentId: string;
	messageId: string;
	token: string;
}

/** Encodes a receipt. */
export function encodeReceipt(parts: ReceiptParts): string {
	return `${parts.environmentId}|${parts.messageId}|${parts.token}`;
}

/** Decodes a receipt, or undefined when it is not one of ours. */
export function decodeReceipt(receipt: string): ReceiptParts | undefined {
	const first = receipt.indexOf("|");
	const second = receipt.indexOf("|", first + 1);
	if (first <= 0 || second <= first + 1 || second === receipt.length - 1) return undefined;
	const parts = {
		environmentId: receipt.slice(0, first),
		messageId: receipt.slice(first + 1, second),
		token: receipt.slice(second + 1),
	};
	// Each part is checked against the grammar it was made from: the scripts join ids
	// and tokens with control characters, so a receipt carrying one could rewrite what a
	// script reads (a "\x1fjunk" suffix became the acknowledgement's reason).
	if (!NAME.test(parts.environmentId) || !IDENT.test(parts.messageId) || !TOKEN.test(parts.token)) {
		return undefined;
	}
	return parts;
}
