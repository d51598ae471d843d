import type { Logger } from "pino";
import { errorMessage } from "./exporter-errors.js";
import type { ExporterSink } from "./exporter-sink.js";

/**
 * Shuts a sink down, waiting at most ms: a user's module or a plugin whose
 * shutdown never settles must not hold its caller. Never throws; a failure or
 * timeout is logged.
 */
export async function shutdownWithin(sink: ExporterSink, ms: number, logger: Logger): Promise<void> {
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`shutdown did not finish within ${ms} ms`)), ms);
	});
	try {
		await Promise.race([Promise.resolve().then(() => sink.shutdown()), deadline]);
	} catch (error) {
		logger.warn({ err: errorMessage(error) }, "exporter shutdown failed");
	} finally {
		clearTimeout(timer);
	}
}
