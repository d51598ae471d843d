/**
 * Receipts name one delivery: the environment (so an acknowledgement finds the
 * hash-tagged keys), the message id and the per-delivery token. Names never
 * contain "|", so the parts split back unambiguously.
 */
export interface ReceiptParts {
	environmentId: string;
	messageId: string;
	token: string;
}

/** Encodes a receipt; base64url so callers treat it as opaque. */
export function encodeReceipt(parts: ReceiptParts): string {
	return Buffer.from(`${parts.environmentId}|${parts.messageId}|${parts.token}`).toString("base64url");
}

/** Decodes a receipt, or undefined when it is not one of ours. */
export function decodeReceipt(receipt: string): ReceiptParts | undefined {
	const text = Buffer.from(receipt, "base64url").toString();
	const parts = text.split("|");
	if (parts.length !== 3) return undefined;
	const [environmentId, messageId, token] = parts as [string, string, string];
	if (environmentId === "" || messageId === "" || token === "") return undefined;
	return { environmentId, messageId, token };
}
