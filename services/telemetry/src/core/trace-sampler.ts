import type { TelemetryItem } from "./model.js";

const TWO_POW_64 = 2n ** 64n;

/** Decides per item whether a sampled exporter keeps it. */
export type Sampler = (item: TelemetryItem) => boolean;

/**
 * Keeps a fraction of traces, decided from the trace id alone, so every span
 * and log record of one trace is kept or dropped together, on every replica.
 * Items without a trace id (metrics, logs outside a span) are always kept.
 */
export function traceRatioSampler(ratio: number): Sampler | undefined {
	if (ratio >= 1) return undefined;
	const bound = BigInt(Math.floor(ratio * 2 ** 53)) * (TWO_POW_64 / 2n ** 53n);
	return (item) => {
		if (item.signal === "metrics" || item.traceId.length !== 32) return true;
		// The low 8 bytes of a W3C trace id are random by the spec.
		return BigInt(`0x${item.traceId.slice(16)}`) < bound;
	};
}
