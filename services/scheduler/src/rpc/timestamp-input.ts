import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { ServiceError } from "../../../kit/src/index.js";

// google.protobuf.Timestamp's documented range: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z. Past it a time is no date PostgreSQL stores and
// the statement fails; refused here it is the caller's error, named.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/** A request's timestamp as a Date, or INVALID_ARGUMENT naming the field when outside the range. */
export function timestampInput(field: string, t: Timestamp): Date {
	if (t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS || t.nanos < 0 || t.nanos > 999_999_999) {
		throw ServiceError.invalidField(
			field,
			`must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, got ${t.seconds} s and ${t.nanos} ns since the epoch`,
		);
	}
	return timestampDate(t);
}
