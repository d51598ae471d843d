import type {
	AcknowledgeRequest,
	HeartbeatRequest,
	NackRequest,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { AckItem, NackItem } from "../core/fair-queue.js";
import { ACK_REASONS } from "../core/types.js";
import { MAX_VISIBILITY_MS, Violations } from "./violations.js";

const MAX_RETRY_DELAY_MS = 365 * 24 * 3600 * 1000;

function receipt(v: Violations, field: string, value: string): void {
	if (value === "") v.add(field, "is required");
	else if (value.length > 2048) v.add(field, `${value.length} characters is over the limit of 2048`);
}

/** The consumer of a settling call: required, or on a stream empty or the stream's own. */
function consumerOf(v: Violations, value: string, streamConsumer: string | undefined): string {
	if (streamConsumer !== undefined) {
		if (value !== "" && value !== streamConsumer) {
			v.add("consumer_id", `"${value}" is not this stream's consumer "${streamConsumer}"`);
		}
		return streamConsumer;
	}
	v.ident("consumer_id", value, true);
	return value;
}

/** Validates and converts an acknowledge request. */
export function acknowledgeInput(request: AcknowledgeRequest, streamConsumer?: string) {
	const v = new Violations();
	const consumerId = consumerOf(v, request.consumerId, streamConsumer);
	v.batch("acknowledgements", request.acknowledgements.length);
	v.uniqueReceipts(
		(i) => `acknowledgements[${i}].receipt`,
		request.acknowledgements.map((a) => a.receipt),
	);
	const items: AckItem[] = request.acknowledgements.map((a, i) => {
		receipt(v, `acknowledgements[${i}].receipt`, a.receipt);
		if (a.reason === 0) v.add(`acknowledgements[${i}].reason`, "must not be ACK_REASON_UNSPECIFIED");
		else if (a.reason < 0 || a.reason >= ACK_REASONS.length) {
			v.add(`acknowledgements[${i}].reason`, `${a.reason} is not a known AckReason`);
		}
		v.detail(`acknowledgements[${i}].detail`, a.detail);
		return { receipt: a.receipt, reason: a.reason, detail: a.detail };
	});
	v.throwIfAny();
	return { consumerId, items };
}

/** Validates and converts a nack request. */
export function nackInput(request: NackRequest, now: number, streamConsumer?: string) {
	const v = new Violations();
	const consumerId = consumerOf(v, request.consumerId, streamConsumer);
	v.batch("items", request.items.length);
	v.uniqueReceipts(
		(i) => `items[${i}].receipt`,
		request.items.map((n) => n.receipt),
	);
	const items: NackItem[] = request.items.map((n, i) => {
		receipt(v, `items[${i}].receipt`, n.receipt);
		v.detail(`items[${i}].detail`, n.detail);
		let retryAt: number | undefined;
		if (n.retry.case === "retryDelay") {
			const ms = v.durationExactMs(`items[${i}].retry_delay`, n.retry.value);
			if (ms !== undefined) {
				if (ms < 0) v.add(`items[${i}].retry_delay`, `${ms} ms is negative; a delay must be 0 or more`);
				else if (ms > MAX_RETRY_DELAY_MS) v.add(`items[${i}].retry_delay`, `${ms} ms is over one year`);
				else retryAt = now + Math.round(ms);
			}
		} else if (n.retry.case === "retryAt") {
			const at = v.timestamp(`items[${i}].retry_at`, n.retry.value);
			// A time in the past retries now, as a delay of 0 does; one over a year ahead would
			// park the message where nothing looks for it.
			if (at !== undefined && at - now > MAX_RETRY_DELAY_MS)
				v.add(`items[${i}].retry_at`, "is more than one year ahead");
			else if (at !== undefined) retryAt = Math.max(at, 0);
		}
		return { receipt: n.receipt, detail: n.detail, ...(retryAt === undefined ? {} : { retryAt }) };
	});
	v.throwIfAny();
	return { consumerId, items };
}

/** Validates and converts a heartbeat request; extendMs 0 means each delivery's own timeout. */
export function heartbeatInput(request: HeartbeatRequest, streamConsumer?: string) {
	const v = new Violations();
	const consumerId = consumerOf(v, request.consumerId, streamConsumer);
	v.batch("receipts", request.receipts.length);
	for (const [i, r] of request.receipts.entries()) receipt(v, `receipts[${i}]`, r);
	v.uniqueReceipts((i) => `receipts[${i}]`, request.receipts);
	// As every visibility timeout: at least 1 s.
	const extendMs = v.duration("extend_by", request.extendBy, 1000, MAX_VISIBILITY_MS) ?? 0;
	v.throwIfAny();
	return { consumerId, receipts: request.receipts, extendMs };
}
