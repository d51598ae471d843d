import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { ServiceError, timestampRangeProblem } from "../../../kit/src/index.js";

/** A request's timestamp as a Date, or INVALID_ARGUMENT naming the field when outside a Timestamp's range. */
export function timestampInput(field: string, t: Timestamp): Date {
	const problem = timestampRangeProblem(t);
	if (problem !== undefined) throw ServiceError.invalidField(field, problem);
	return timestampDate(t);
}
