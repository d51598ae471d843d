import { randomBytes } from "node:crypto";

/**
 * A sortable id: a prefix, the time in base 36 (fixed width, so ids sort by
 * creation time) and random bits. ListRuns pages by id for that reason.
 */
export function newId(prefix: string, now: number): string {
	return `${prefix}_${now.toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
}
