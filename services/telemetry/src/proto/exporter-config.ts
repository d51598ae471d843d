import type { JsonObject } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import {
	type ExporterConfig,
	OverflowPolicy,
	Signal,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { durationNanosInRange, durationSignsAgree, MAX_NANOS } from "../../../kit/src/index.js";
import { InvalidExporterConfig } from "../core/exporter-errors.js";
import {
	EXPORTER_DEFAULTS,
	EXPORTER_LIMITS,
	type ExporterSpec,
	type ExporterTarget,
} from "../core/exporter-spec.js";
import type { SignalName } from "../core/model.js";
import { checkGrpcMetadata, checkHttpHeaders } from "./header-checks.js";
import { limitedList } from "./list-limits.js";
import { checkModuleOptions } from "./module-options.js";

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks an ExporterConfig and applies the contract's defaults. Throws
 * InvalidExporterConfig naming the field (as `config.<field>`) and the limit.
 * Patterns are compiled later, when the exporter is built.
 */
export function specFromConfig(config: ExporterConfig): ExporterSpec {
	if (!NAME.test(config.name)) {
		throw new InvalidExporterConfig(
			"config.name",
			`"${config.name}" must be 1 to ${EXPORTER_LIMITS.nameLength} letters, digits, - or _`,
		);
	}
	const batching = config.batching;
	const retry = config.retry;
	const ratio = config.samplingRatio ?? 1;
	if (!(ratio >= 0 && ratio <= 1))
		throw new InvalidExporterConfig("config.sampling_ratio", `${ratio} is not between 0 and 1`);
	const spec: ExporterSpec = {
		name: config.name,
		enabled: config.enabled,
		target: targetOf(config),
		filter: {
			signals: limitedList(config.filter?.signals, EXPORTER_LIMITS.listEntries, "config.filter.signals").map(
				(s, i) => signalName(s, `config.filter.signals[${i}]`),
			),
			services: limitedList(config.filter?.services, EXPORTER_LIMITS.listEntries, "config.filter.services"),
			taskIds: limitedList(config.filter?.taskIds, EXPORTER_LIMITS.listEntries, "config.filter.task_ids"),
			attributes: limitedList(
				config.filter?.attributes,
				EXPORTER_LIMITS.patterns,
				"config.filter.attributes",
			).map((a) => ({ key: a.key, equals: a.equals, pattern: a.pattern })),
		},
		redaction: {
			keys: limitedList(config.redaction?.keys, EXPORTER_LIMITS.listEntries, "config.redaction.keys"),
			keyPatterns: limitedList(
				config.redaction?.keyPatterns,
				EXPORTER_LIMITS.patterns,
				"config.redaction.key_patterns",
			),
			valuePatterns: limitedList(
				config.redaction?.valuePatterns,
				EXPORTER_LIMITS.patterns,
				"config.redaction.value_patterns",
			),
			replacement: config.redaction?.replacement || EXPORTER_DEFAULTS.replacement,
		},
		samplingRatio: ratio,
		maxBatchSize: bounded(
			batching?.maxBatchSize,
			EXPORTER_DEFAULTS.maxBatchSize,
			EXPORTER_LIMITS.maxBatchSize,
			"config.batching.max_batch_size",
		),
		maxDelayMs: millis(
			batching?.maxDelay,
			EXPORTER_DEFAULTS.maxDelayMs,
			EXPORTER_LIMITS.maxDelayMs,
			"config.batching.max_delay",
		),
		maxAttempts: bounded(
			retry?.maxAttempts,
			EXPORTER_DEFAULTS.maxAttempts,
			EXPORTER_LIMITS.maxAttempts,
			"config.retry.max_attempts",
		),
		initialBackoffMs: millis(
			retry?.initialBackoff,
			EXPORTER_DEFAULTS.initialBackoffMs,
			EXPORTER_LIMITS.maxBackoffMs,
			"config.retry.initial_backoff",
		),
		maxBackoffMs: millis(
			retry?.maxBackoff,
			EXPORTER_DEFAULTS.maxBackoffMs,
			EXPORTER_LIMITS.maxBackoffMs,
			"config.retry.max_backoff",
		),
		queueSize: bounded(
			config.queueSize,
			EXPORTER_DEFAULTS.queueSize,
			EXPORTER_LIMITS.queueSize,
			"config.queue_size",
		),
		overflow: config.overflowPolicy === OverflowPolicy.DROP_OLDEST ? "drop_oldest" : "drop_newest",
		timeoutMs: millis(
			config.timeout,
			EXPORTER_DEFAULTS.timeoutMs,
			EXPORTER_LIMITS.timeoutMs,
			"config.timeout",
		),
	};
	if (!(config.overflowPolicy in OverflowPolicy)) {
		throw new InvalidExporterConfig(
			"config.overflow_policy",
			`${config.overflowPolicy} is not a known policy`,
		);
	}
	if (spec.timeoutMs === 0) throw new InvalidExporterConfig("config.timeout", "must be more than 0");
	return spec;
}

function targetOf(config: ExporterConfig): ExporterTarget {
	const kind = config.kind;
	switch (kind.case) {
		case "otlpHttp": {
			url(kind.value.endpoint, ["http", "https"], "config.otlp_http.endpoint");
			const headers = limitedHeaders(kind.value.headers, "config.otlp_http.headers");
			checkHttpHeaders(headers, "config.otlp_http.headers");
			return { kind: "otlpHttp", endpoint: kind.value.endpoint, headers, json: kind.value.json };
		}
		case "otlpGrpc": {
			url(kind.value.endpoint, ["http", "https"], "config.otlp_grpc.endpoint");
			const headers = limitedHeaders(kind.value.headers, "config.otlp_grpc.headers");
			checkGrpcMetadata(headers, "config.otlp_grpc.headers");
			return { kind: "otlpGrpc", endpoint: kind.value.endpoint, headers };
		}
		case "console":
			return { kind: "console", compact: kind.value.compact };
		case "file":
			if (!kind.value.path.startsWith("/")) {
				throw new InvalidExporterConfig("config.file.path", `"${kind.value.path}" must be an absolute path`);
			}
			if (kind.value.path.endsWith("/")) {
				throw new InvalidExporterConfig(
					"config.file.path",
					`"${kind.value.path}" names a directory; name a file`,
				);
			}
			return { kind: "file", path: kind.value.path };
		case "plugin": {
			if (!/^[^\s/:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(kind.value.address)) {
				throw new InvalidExporterConfig("config.plugin.address", `"${kind.value.address}" must be host:port`);
			}
			const port = Number(kind.value.address.slice(kind.value.address.lastIndexOf(":") + 1));
			if (port < 1 || port > 65_535) {
				throw new InvalidExporterConfig("config.plugin.address", `port ${port} must be 1 to 65535`);
			}
			return { kind: "plugin", address: kind.value.address, tls: kind.value.tls };
		}
		case "module": {
			if (kind.value.path === "") throw new InvalidExporterConfig("config.module.path", "must not be empty");
			const options: JsonObject = kind.value.options ?? {};
			checkModuleOptions(options);
			return { kind: "module", path: kind.value.path, options };
		}
		default:
			throw new InvalidExporterConfig(
				"config.kind",
				"an exporter kind is required: one of otlp_http, otlp_grpc, console, file, plugin, module",
			);
	}
}

function limitedHeaders(headers: Record<string, string>, field: string): Record<string, string> {
	const entries = limitedList(Object.entries(headers), EXPORTER_LIMITS.headers, field);
	// Null prototype: a header named "__proto__" stays an ordinary header, not the prototype.
	return Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(entries));
}

function url(value: string, schemes: string[], field: string): void {
	let parsed: URL;
	try {
		parsed = new URL(value);
	} catch {
		throw new InvalidExporterConfig(field, `"${value}" is not a valid URL`);
	}
	const scheme = parsed.protocol.replace(/:$/, "");
	if (!schemes.includes(scheme)) {
		throw new InvalidExporterConfig(
			field,
			`"${value}" must start with ${schemes.map((s) => `${s}://`).join(" or ")}`,
		);
	}
}

function signalName(signal: Signal, field: string): SignalName {
	switch (signal) {
		case Signal.TRACES:
			return "traces";
		case Signal.LOGS:
			return "logs";
		case Signal.METRICS:
			return "metrics";
		default:
			throw new InvalidExporterConfig(field, `${signal} is not a signal (TRACES, LOGS or METRICS)`);
	}
}

function bounded(value: number | undefined, fallback: number, max: number, field: string): number {
	if (value === undefined || value === 0) return fallback;
	if (value > max) throw new InvalidExporterConfig(field, `${value} is over the limit of ${max}`);
	return value;
}

function millis(value: Duration | undefined, fallback: number, max: number, field: string): number {
	if (value === undefined) return fallback;
	// A malformed Duration cannot be stored as JSON later, so it is refused here, naming the field.
	if (!durationNanosInRange(value.nanos)) {
		throw new InvalidExporterConfig(
			field,
			`nanos ${value.nanos} must be within -${MAX_NANOS.toLocaleString("en-US")} to ${MAX_NANOS.toLocaleString("en-US")}`,
		);
	}
	if (!durationSignsAgree(value)) {
		throw new InvalidExporterConfig(
			field,
			`nanos ${value.nanos} must have the sign of seconds ${value.seconds}`,
		);
	}
	const ms = Number(value.seconds) * 1_000 + Math.floor(value.nanos / 1_000_000);
	if (ms < 0) throw new InvalidExporterConfig(field, "must not be negative");
	if (ms > max) throw new InvalidExporterConfig(field, `${ms} ms is over the limit of ${max} ms`);
	return ms;
}
