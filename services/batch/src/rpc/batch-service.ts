import { createHash } from "node:crypto";
import { toBinary } from "@bufbuild/protobuf";
import type {
	CreateBatchRequest,
	StreamBatchItemsRequest,
} from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import { BatchItemInputSchema, BatchService } from "../../../../gen/taskmesh/batch/v1/batch_pb.js";
import {
	durationOverLimit,
	type FieldViolation,
	MAX_DURATION_MS,
	registration,
	ServiceError,
	type ServiceImplementation,
	type ServiceRegistration,
	untilDrained,
} from "../../../kit/src/index.js";
import type { BatchCore } from "../core/batch-core.js";
import { IngestionSession } from "../core/ingestion-session.js";
import type { BatchRecord, ItemToCreate, RejectedItem } from "../core/types.js";
import { batchMessage, failureMessage, strategyOf } from "./convert.js";
import { decodeStreamBatchItemsRequest } from "./item-decoding.js";
import { durationMs, type ItemLimits, itemToCreate, itemViolations } from "./item-validation.js";
import { listItemsResponseOf } from "./list-items-encoding.js";

/** Limits the adapter enforces (from the service's configuration). */
export interface BatchServiceLimits extends ItemLimits {
	maxInlineItems: number;
	maxItems: number;
	maxSealTimeoutMs: number;
	watchPollMs: number;
}

const MAX_ID = 128;
const MAX_KEY = 256;
const MAX_SHOWN_FAILURES = 100;
/** gRPC status code numbers, as RejectedItem.code holds them. */
const INVALID_ARGUMENT = 3;
const FAILED_PRECONDITION = 9;
/** The largest item index a batch_items row can hold (a PostgreSQL integer). */
const MAX_ITEM_INDEX = 2_147_483_647;

/** taskmesh.batch.v1.BatchService over the batch core. */
export function batchServiceRegistration(core: BatchCore, limits: BatchServiceLimits): ServiceRegistration {
	const implementation: ServiceImplementation<typeof BatchService> = {
		async createBatch(request) {
			const input = newBatchInput(request, limits);
			const inline = request.items.length === 0 ? undefined : inlineItems(request, limits);
			const { batch, cached, rejected } = await core.createBatch(input, inline);
			if (rejected.length > 0 && !batch.sealed) throw refused(batch, rejected, "BATCH_ITEMS_REJECTED");
			return { batch: batchMessage(batch, cached) };
		},

		async streamBatchItems(requests, context) {
			const iterator = requests[Symbol.asyncIterator]();
			const first = await iterator.next();
			const header = first.done ? undefined : first.value.kind;
			if (header?.case !== "header") {
				throw ServiceError.invalidField("header", "the first message of the stream must be the header");
			}
			const environmentId = requireId("header.environment_id", header.value.environmentId);
			const batchId = requireId("header.batch_id", header.value.batchId);
			const opened = await core.openIngestion(environmentId, batchId);
			const session = opened instanceof IngestionSession ? opened : undefined;
			const refusedItems: RejectedItem[] = [];
			for (let message = await iterator.next(); !message.done; message = await iterator.next()) {
				const items = chunkItems(message.value, limits, refusedItems);
				if (session !== undefined) await session.push(items);
				else refusedItems.push(...core.refuseItems(opened as BatchRecord, items));
			}
			if (session !== undefined) refusedItems.push(...(await session.finish()));
			const batch = await core.getBatch(environmentId, batchId);
			context.logger.info(
				{
					batchId,
					created: batch.createdItemCount,
					expected: batch.expectedItemCount,
					refused: refusedItems.length,
				},
				"batch items streamed",
			);
			if (!batch.sealed) throw refused(batch, refusedItems, "BATCH_NOT_SEALED");
			return { batch: batchMessage(batch), failures: refusedItems.map(failureMessage) };
		},

		async getBatch(request) {
			const batch = await core.getBatch(
				requireId("environment_id", request.environmentId),
				requireId("batch_id", request.batchId),
			);
			return { batch: batchMessage(batch) };
		},

		async listBatchItems(request) {
			const environmentId = requireId("environment_id", request.environmentId);
			const batchId = requireId("batch_id", request.batchId);
			if (request.pageSize < 0 || request.pageSize > 1_000) {
				throw ServiceError.invalidField(
					"page_size",
					`${request.pageSize} is not from 1 to 1000 (0 means 100)`,
				);
			}
			const from = request.pageToken === "" ? 0 : Number(request.pageToken);
			if (!Number.isSafeInteger(from) || from > MAX_ITEM_INDEX || !/^\d*$/.test(request.pageToken)) {
				throw ServiceError.invalidField("page_token", "is not a token from a previous response");
			}
			const page = await core.listItems(environmentId, batchId, from, request.pageSize || 100);
			return listItemsResponseOf(page.items, page.nextIndex === undefined ? "" : String(page.nextIndex));
		},

		async *waitForBatch(request, context) {
			const environmentId = requireId("environment_id", request.environmentId);
			const batchId = requireId("batch_id", request.batchId);
			// Ends cleanly when the server begins to drain: the waiter calls again on a
			// replica that stays (and reads the batch afresh) instead of holding this
			// one's drain open until it times out.
			for await (const batch of untilDrained(context, (signal) =>
				core.watchBatch(environmentId, batchId, signal, limits.watchPollMs),
			)) {
				yield { batch: batchMessage(batch) };
			}
		},
	};
	// Item chunks, 100,000 items a stream, are read by hand; every other message by protobuf-es.
	return registration(BatchService, implementation, {
		streamBatchItems: { decodeRequest: decodeStreamBatchItemsRequest },
	});
}

function newBatchInput(request: CreateBatchRequest, limits: BatchServiceLimits) {
	const environmentId = requireId("environment_id", request.environmentId);
	const inlineCount = request.items.length;
	if (inlineCount > limits.maxInlineItems) {
		throw ServiceError.invalidField(
			"items",
			`${inlineCount} items is over the limit of ${limits.maxInlineItems} (BATCH_MAX_INLINE_ITEMS); stream larger batches with StreamBatchItems`,
		);
	}
	if (inlineCount === 0 && request.expectedItemCount === 0) {
		throw ServiceError.invalidField(
			"items",
			"a batch needs at least one item: send items inline or set expected_item_count",
		);
	}
	if (inlineCount === 0 && request.expectedItemCount > limits.maxItems) {
		throw ServiceError.invalidField(
			"expected_item_count",
			`${request.expectedItemCount} is over the limit of ${limits.maxItems} (BATCH_MAX_ITEMS)`,
		);
	}
	if (request.idempotencyKey.length > MAX_KEY) {
		throw ServiceError.invalidField(
			"idempotency_key",
			`${request.idempotencyKey.length} characters is over the limit of ${MAX_KEY}`,
		);
	}
	const ttlMs = request.idempotencyKeyTtl === undefined ? undefined : durationMs(request.idempotencyKeyTtl);
	if (ttlMs !== undefined && ttlMs <= 0)
		throw ServiceError.invalidField("idempotency_key_ttl", "must be positive");
	// Its expiry (now + ttl) must stay a date: a ttl of 10^13 s failed CreateBatch with INTERNAL.
	if (ttlMs !== undefined && ttlMs > MAX_DURATION_MS)
		throw ServiceError.invalidField("idempotency_key_ttl", durationOverLimit(ttlMs));
	const sealMs = request.sealTimeout === undefined ? undefined : durationMs(request.sealTimeout);
	if (sealMs !== undefined && (sealMs <= 0 || sealMs > limits.maxSealTimeoutMs)) {
		throw ServiceError.invalidField(
			"seal_timeout",
			`${sealMs} ms is not from 1 ms to ${limits.maxSealTimeoutMs} ms (BATCH_MAX_SEAL_TIMEOUT_MS)`,
		);
	}
	const parent = request.parent;
	if (parent !== undefined) {
		requireId("parent.run_id", parent.runId);
		if (parent.wait) requireId("parent.attempt_id", parent.attemptId);
	}
	return {
		environmentId,
		expectedItemCount: inlineCount > 0 ? inlineCount : request.expectedItemCount,
		strategy: strategyOf(request.strategy),
		idempotencyKey: request.idempotencyKey,
		idempotencyKeyTtlMs: ttlMs,
		sealTimeoutMs: sealMs,
		parent:
			parent === undefined
				? undefined
				: { runId: parent.runId, attemptId: parent.attemptId, wait: parent.wait },
		inlineItemsDigest: inlineItemsDigest(request),
	};
}

/**
 * A digest of a keyed create's inline items, so a retry of the very same create can
 * carry on creating them; undefined when there is no key or no items. Items are
 * hashed as encoded, each after its length: a retry that encodes them otherwise
 * (metadata keys in another order) is taken for other items and only returns the batch.
 */
function inlineItemsDigest(request: CreateBatchRequest): string | undefined {
	if (request.idempotencyKey === "" || request.items.length === 0) return undefined;
	const hash = createHash("sha256");
	for (const item of request.items) {
		const bytes = toBinary(BatchItemInputSchema, item);
		hash.update(`${bytes.byteLength}:`).update(bytes);
	}
	return hash.digest("hex");
}

/** Inline items, all valid, or INVALID_ARGUMENT naming every bad field by index before anything is created. */
function inlineItems(request: CreateBatchRequest, limits: BatchServiceLimits): ItemToCreate[] {
	const violations = request.items.flatMap((item, i) => itemViolations(i, item, limits));
	if (violations.length > 0) throw ServiceError.invalidFields(violations);
	return request.items.map((item, i) => itemToCreate(i, item));
}

/** A chunk's valid items; invalid ones go to `refusedItems` with their index. */
function chunkItems(
	message: StreamBatchItemsRequest,
	limits: BatchServiceLimits,
	refusedItems: RejectedItem[],
) {
	if (message.kind.case === "header") {
		throw ServiceError.invalidField("header", "only the first message of the stream may be a header");
	}
	if (message.kind.case !== "chunk") {
		throw ServiceError.invalidField("kind", "the message has neither a chunk nor a header");
	}
	const items: ItemToCreate[] = [];
	for (const indexed of message.kind.value.items) {
		const violations =
			indexed.item === undefined
				? [{ field: `items[${indexed.index}].item`, description: "is required" }]
				: itemViolations(indexed.index, indexed.item, limits);
		if (violations.length > 0 || indexed.item === undefined) {
			refusedItems.push({
				index: indexed.index,
				code: INVALID_ARGUMENT,
				message: violations.map((v) => `${v.field}: ${v.description}`).join("; "),
			});
		} else {
			items.push(itemToCreate(indexed.index, indexed.item));
		}
	}
	return items;
}

/** The error for a batch that is not sealed, naming its counts and the refused items. */
function refused(batch: BatchRecord, rejected: RejectedItem[], reason: string): ServiceError {
	const violations: FieldViolation[] = rejected
		.slice(0, MAX_SHOWN_FAILURES)
		.map((r) => ({ field: `items[${r.index}]`, description: r.message }));
	const counts = `${batch.createdItemCount} of ${batch.expectedItemCount} items exist`;
	const state =
		batch.status === "FAILED"
			? `batch ${batch.id} FAILED: ${batch.failureReason}`
			: `batch ${batch.id} is not sealed: ${counts}, ${rejected.length} refused; send the missing items before ${batch.sealDeadline.toISOString()} or it fails`;
	// Items refused only because the batch takes no more (it FAILED) were valid: the
	// caller's request is not the problem, the batch's state is.
	const code = rejected.every((r) => r.code === FAILED_PRECONDITION)
		? "FAILED_PRECONDITION"
		: "INVALID_ARGUMENT";
	return new ServiceError(code, state, {
		fieldViolations: violations,
		reason,
		metadata: { batch_id: batch.id, status: batch.status },
	});
}

function requireId(field: string, value: string): string {
	if (value === "") throw ServiceError.invalidField(field, "is required");
	if (value.length > MAX_ID)
		throw ServiceError.invalidField(field, `${value.length} characters is over the limit of ${MAX_ID}`);
	return value;
}
