import type { Clients } from "../client/clients.js";
import { call } from "../client/errors.js";
import type { WaitRequest } from "../tasks/attempt-runtime.js";
import { protoDuration, protoTimestamp } from "../tasks/duration.js";
import { createBatch } from "../tasks/trigger.js";

/**
 * Begins a task's wait on the platform for the attempt that asked: a child run
 * triggered with parent.wait, a batch created with parent.wait, or a time wait.
 * The scheduler suspends the run and frees its concurrency slot. Returns what
 * the run now waits for (for the lifecycle log) and the batch id of a batch wait.
 */
export async function beginPlatformWait(
	clients: Clients,
	record: { runId: string; attemptId: string },
	request: WaitRequest,
): Promise<{ what: string; batchId: string }> {
	const parent = { runId: record.runId, attemptId: record.attemptId, wait: true };
	const env = clients.environmentId;
	let what: string;
	let batchId = "";
	switch (request.kind) {
		case "child": {
			const r = await call(clients.scheduler.triggerRun({ environmentId: env, ...request.item, parent }));
			what = `child run ${r.run?.id} (${request.item.taskId})`;
			break;
		}
		case "batch": {
			const b = await createBatch(clients, request.items, parent);
			what = `batch ${b.batchId} of ${b.runCount} runs`;
			batchId = b.batchId;
			break;
		}
		case "duration":
			await call(
				clients.scheduler.beginWait({
					runId: record.runId,
					attemptId: record.attemptId,
					target: { case: "duration", value: protoDuration(request.ms) },
				}),
			);
			what = `${request.ms} ms`;
			break;
		case "until":
			await call(
				clients.scheduler.beginWait({
					runId: record.runId,
					attemptId: record.attemptId,
					target: { case: "until", value: protoTimestamp(new Date(request.at)) },
				}),
			);
			what = new Date(request.at).toISOString();
			break;
	}
	return { what, batchId };
}
