import type { FairQueue } from "./fair-queue.js";
import type { DeliverRequest, DeliverResult } from "./types.js";

/**
 * Delivers what is deliverable now; when nothing is, waits up to waitMs for the
 * first message (woken by enqueues, freed capacity or a due time, not by a
 * polling sleep) and tries again.
 */
export async function dequeueWaiting(
	queue: FairQueue,
	request: DeliverRequest,
	waitMs: number,
	signal: AbortSignal,
): Promise<DeliverResult> {
	const { wake, clock } = queue.resources;
	const deadline = Date.now() + waitMs;
	const environments = [...new Set(request.selectors.map((s) => s.environmentId))];
	for (;;) {
		const seen = new Map(environments.map((e) => [e, wake.version(e)]));
		const result = await queue.deliver(request);
		if (result.deliveries.length > 0 || Date.now() >= deadline || signal.aborted) return result;
		let until = deadline;
		if (result.nextDueAt !== undefined) {
			until = Math.min(until, Date.now() + Math.max(0, result.nextDueAt - clock.now()));
		}
		await wake.wait(seen, until, signal);
	}
}
