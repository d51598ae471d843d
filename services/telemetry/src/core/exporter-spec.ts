import type { SignalName } from "./model.js";

/** Where an exporter sends data: one entry per kind of the registry's oneof. */
export type ExporterTarget =
	| { kind: "otlpHttp"; endpoint: string; headers: Record<string, string>; json: boolean }
	| { kind: "otlpGrpc"; endpoint: string; headers: Record<string, string> }
	| { kind: "console"; compact: boolean }
	| { kind: "file"; path: string }
	| { kind: "plugin"; address: string; tls: boolean }
	| { kind: "module"; path: string; options: Record<string, unknown> };

/** The kind names, as the registry spells them. */
export type ExporterKind = ExporterTarget["kind"];

/** Match on one attribute: equals, or a compiled pattern. */
export interface AttributeMatchSpec {
	key: string;
	equals: string;
	pattern: string;
}

/** What an exporter receives; empty lists match everything. */
export interface FilterSpec {
	signals: SignalName[];
	services: string[];
	taskIds: string[];
	attributes: AttributeMatchSpec[];
}

/** What is masked before data leaves. */
export interface RedactionSpec {
	keys: string[];
	keyPatterns: string[];
	valuePatterns: string[];
	replacement: string;
}

/** What a full queue does. */
export type OverflowPolicy = "drop_newest" | "drop_oldest";

/** An exporter's configuration with every default applied. */
export interface ExporterSpec {
	name: string;
	enabled: boolean;
	target: ExporterTarget;
	filter: FilterSpec;
	redaction: RedactionSpec;
	/** 0 to 1, per trace id. */
	samplingRatio: number;
	maxBatchSize: number;
	maxDelayMs: number;
	maxAttempts: number;
	initialBackoffMs: number;
	maxBackoffMs: number;
	queueSize: number;
	overflow: OverflowPolicy;
	/** Per export attempt. */
	timeoutMs: number;
}

/** The defaults the contract states for unset fields. */
export const EXPORTER_DEFAULTS = {
	maxBatchSize: 512,
	maxDelayMs: 1_000,
	maxAttempts: 5,
	initialBackoffMs: 100,
	maxBackoffMs: 5_000,
	queueSize: 10_000,
	timeoutMs: 10_000,
	replacement: "[REDACTED]",
} as const;

/** Limits the contract states. */
export const EXPORTER_LIMITS = {
	maxBatchSize: 10_000,
	queueSize: 1_000_000,
	maxAttempts: 100,
	maxDelayMs: 60_000,
	maxBackoffMs: 600_000,
	timeoutMs: 600_000,
	nameLength: 64,
	/** Entries of each pattern list: filter.attributes, redaction.key_patterns, redaction.value_patterns. */
	patterns: 100,
	/** Entries of filter.services, filter.task_ids and redaction.keys. */
	listEntries: 1_000,
	/** Headers of an otlp_http or otlp_grpc exporter. */
	headers: 64,
} as const;
