import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import {
	durationNanosInRange,
	durationSignsAgree,
	type FieldViolation,
	ServiceError,
	timestampRangeProblem,
} from "../../../kit/src/index.js";

import { IDENT, NAME } from "../core/names.js";

export { IDENT, NAME };
/** Most items in one batched call. */
export const MAX_BATCH = 1000;
/** Longest free-text detail. */
export const MAX_DETAIL = 1024;
/** Longest visibility timeout or extension: 12 hours. */
export const MAX_VISIBILITY_MS = 12 * 3600 * 1000;

/**
 * Collects every problem of a request before anything is stored, so a bad
 * request fails whole with INVALID_ARGUMENT and leaves Redis unchanged.
 */
export class Violations {
	readonly list: FieldViolation[] = [];

	/** Records a problem of a field. */
	add(field: string, description: string): void {
		// One bad batch can hold a thousand bad items; the first 100 say enough.
		if (this.list.length < 100) this.list.push({ field, description });
	}

	/** A required name matching NAME. */
	name(field: string, value: string): void {
		if (value === "") this.add(field, "is required");
		else if (!NAME.test(value))
			this.add(
				field,
				`"${clip(value)}" must be 1 to 128 letters, digits or . _ - / : (${value.length} characters)`,
			);
	}

	/** An identifier matching IDENT; optional ones may be empty. */
	ident(field: string, value: string, required: boolean): void {
		if (value === "") {
			if (required) this.add(field, "is required");
		} else if (!IDENT.test(value)) {
			this.add(
				field,
				`"${clip(value)}" must be 1 to 256 letters, digits or . _ - / : @ = + (${value.length} characters)`,
			);
		}
	}

	/** A batch size from 1 to MAX_BATCH. */
	batch(field: string, length: number): void {
		if (length === 0) this.add(field, "must hold at least 1 item");
		else if (length > MAX_BATCH) this.add(field, `${length} items is over the limit of ${MAX_BATCH}`);
	}

	/** Free text up to MAX_DETAIL characters. */
	detail(field: string, value: string): void {
		if (value.length > MAX_DETAIL)
			this.add(field, `${value.length} characters is over the limit of ${MAX_DETAIL}`);
	}

	/** A duration within [minMs, maxMs]; returns it in ms. */
	duration(field: string, value: Duration | undefined, minMs: number, maxMs: number): number | undefined {
		if (value === undefined) return undefined;
		const ms = this.durationExactMs(field, value);
		if (ms === undefined) return undefined;
		// Compared before rounding: 999.6 ms is under a 1 s minimum, not 1 s.
		if (ms < minMs || ms > maxMs) {
			this.add(field, `${ms} ms is outside ${minMs} ms to ${maxMs} ms`);
			return undefined;
		}
		return Math.round(ms);
	}

	/**
	 * A Duration's milliseconds, unrounded; undefined, with a violation, when its nanos
	 * break the type's rules (within ±999,999,999 and of the sign of its seconds).
	 */
	durationExactMs(field: string, value: Duration): number | undefined {
		if (!durationNanosInRange(value.nanos) || !durationSignsAgree(value)) {
			this.add(
				field,
				`nanos ${value.nanos} must be within -999999999 to 999999999 and of the sign of seconds`,
			);
			return undefined;
		}
		return Number(value.seconds) * 1000 + value.nanos / 1_000_000;
	}

	/** A Timestamp within the type's documented range; returns it in ms since the epoch. */
	timestamp(field: string, value: Timestamp): number | undefined {
		const problem = timestampRangeProblem(value);
		if (problem !== undefined) {
			this.add(field, problem);
			return undefined;
		}
		return Number(value.seconds) * 1000 + Math.floor(value.nanos / 1_000_000);
	}

	/** Each receipt once: a repeat would be settled or counted twice. */
	uniqueReceipts(field: (i: number) => string, receipts: string[]): void {
		const first = new Map<string, number>();
		receipts.forEach((r, i) => {
			const earlier = first.get(r);
			if (earlier === undefined) first.set(r, i);
			else this.add(field(i), `appears twice in this request (also ${field(earlier)})`);
		});
	}

	/** A whole number within [min, max]. */
	range(field: string, value: number, min: number, max: number): void {
		if (!Number.isInteger(value) || value < min || value > max)
			this.add(field, `${value} is outside ${min} to ${max}`);
	}

	/** Throws INVALID_ARGUMENT with every violation, if there are any. */
	throwIfAny(): void {
		if (this.list.length > 0) throw ServiceError.invalidFields(this.list);
	}
}

function clip(value: string): string {
	return value.length > 40 ? `${value.slice(0, 40)}...` : value;
}
