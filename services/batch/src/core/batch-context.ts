import type pg from "pg";
import type { Logger } from "pino";
import type { BatchWatch } from "./batch-watch.js";
import type { Clock } from "./clock.js";
import type { BatchLimits, ChildRuns } from "./types.js";

/** The resources every part of the batch core shares, passed to each constructor. */
export interface BatchContext {
	pool: pg.Pool;
	clock: Clock;
	logger: Logger;
	children: ChildRuns;
	watch: BatchWatch;
	limits: BatchLimits;
}
