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
	if (receipt.indexOf("|", second + 1) !== -1) return undefined;
	return {
		environmentId: receipt.slice(0, first),
		messageId: receipt.slice(first + 1, second),
		token: receipt.slice(second + 1),
	};
}
