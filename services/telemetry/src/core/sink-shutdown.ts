import type { Logger } from "pino";
import { errorMessage } from "./exporter-errors.js";
import type { ExporterSink } from "./exporter-sink.js";
import { settleWithin, TimedOut } from "./settle-within.js";

/**
 * Shuts a sink down, waiting at most ms: a user's module or a plugin whose
 * shutdown never settles must not hold its caller. Never throws; a failure or
 * timeout is logged.
 */
export async function shutdownWithin(sink: ExporterSink, ms: number, logger: Logger): Promise<void> {
	try {
		await settleWithin(
			Promise.resolve().then(() => sink.shutdown()),
			ms,
			() => {},
		);
	} catch (error) {
		const err = error instanceof TimedOut ? `shutdown did not finish within ${ms} ms` : errorMessage(error);
		logger.warn({ err }, "exporter shutdown failed");
	}
}
