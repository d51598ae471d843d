import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
	ServiceError,
	TIMESTAMP_MAX_SECONDS,
	TIMESTAMP_MIN_SECONDS,
	TIMESTAMP_RANGE,
} from "../../../kit/src/index.js";

/** A request's timestamp as a Date, or INVALID_ARGUMENT naming the field when outside a Timestamp's range. */
export function timestampInput(field: string, t: Timestamp): Date {
	const outside = t.seconds < TIMESTAMP_MIN_SECONDS || t.seconds > TIMESTAMP_MAX_SECONDS;
	if (outside || t.nanos < 0 || t.nanos > 999_999_999) {
		throw ServiceError.invalidField(
			field,
			`${TIMESTAMP_RANGE}, got ${t.seconds} s and ${t.nanos} ns since the epoch`,
		);
	}
	return timestampDate(t);
}
