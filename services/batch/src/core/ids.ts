import { randomBytes } from "node:crypto";

/** A new batch id: "batch_" then a time-sortable, random-suffixed id. */
export function newBatchId(now: Date): string {
	return `batch_${now.getTime().toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}
