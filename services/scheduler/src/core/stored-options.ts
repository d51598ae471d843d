import type { RunRow } from "./run-rows.js";
import type { StoredOptions } from "./run-types.js";

/**
 * What a run's `options` column holds: only the options the other columns cannot
 * give back, and only those set. Rows written before migration 008 hold every
 * option; read through storedOptionsOf, both forms give the same options.
 *
 * The whole document was a third of PostgreSQL's work per inserted run: binary
 * COPY still sends jsonb as text, parsed for every row (100,000 batch children by
 * COPY: 1.19–1.24 s with it against 0.85–0.88 s with an empty document).
 */
export type OptionsDocument = Partial<
	Pick<StoredOptions, "idempotencyKey" | "idempotencyKeyTtlMs" | "delayMs" | "metadata" | "deploymentVersion">
>;

/**
 * The document for a run's options. The idempotency key stays in it because its
 * column is cleared when the key is released; the deployment version because its
 * column becomes the version the run was locked to when it started.
 */
export function optionsDocument(options: StoredOptions): OptionsDocument {
	const document: OptionsDocument = {};
	if (options.idempotencyKey !== "") document.idempotencyKey = options.idempotencyKey;
	if (options.idempotencyKeyTtlMs !== 0) document.idempotencyKeyTtlMs = options.idempotencyKeyTtlMs;
	if (options.delayMs !== 0) document.delayMs = options.delayMs;
	if (options.metadata !== null && options.metadata !== undefined) document.metadata = options.metadata;
	if (options.deploymentVersion !== "") document.deploymentVersion = options.deploymentVersion;
	return document;
}

/** The columns of a run row its options are read from, beside the document. */
export type OptionColumns = Pick<
	RunRow,
	| "options"
	| "queue"
	| "concurrency_key"
	| "priority"
	| "tags"
	| "machine_name"
	| "retry"
	| "max_duration_ms"
	| "ttl_ms"
>;

/**
 * A run's options: the columns for what they hold, the document for the rest. A row
 * stored whole before migration 008 holds the columns' values in its document too
 * (both were written from the same options), so it reads the same.
 */
export function storedOptionsOf(row: OptionColumns): StoredOptions {
	const document = row.options;
	return {
		queue: row.queue,
		concurrencyKey: row.concurrency_key,
		idempotencyKey: document.idempotencyKey ?? "",
		idempotencyKeyTtlMs: document.idempotencyKeyTtlMs ?? 0,
		delayMs: document.delayMs ?? 0,
		ttlMs: Number(row.ttl_ms ?? 0),
		tags: row.tags,
		retry: row.retry,
		priority: row.priority,
		maxDurationMs: Number(row.max_duration_ms ?? 0),
		metadata: document.metadata ?? null,
		machine: row.machine_name,
		deploymentVersion: document.deploymentVersion ?? "",
	};
}
