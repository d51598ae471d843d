import { type Duration, durationMs } from "@bufbuild/protobuf/wkt";
import { type FieldViolation, ServiceError } from "../../../kit/src/index.js";

/** Queue and environment names: letters, digits and . _ - / :, at most 128. */
export const NAME = /^[A-Za-z0-9._\-/:]{1,128}$/;
/** Message ids, concurrency keys and consumer ids: also @ = +, at most 256. */
export const IDENT = /^[A-Za-z0-9._\-/:@=+]{1,256}$/;
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
		const ms = durationMs(value);
		if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
			this.add(field, `${ms} ms is outside ${minMs} ms to ${maxMs} ms`);
			return undefined;
		}
		return ms;
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
