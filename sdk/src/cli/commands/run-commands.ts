import { readFile } from "node:fs/promises";
import { sdkClients } from "../../client/sdk-config.js";
import type { RunInfo, RunStatusName } from "../../tasks/run-info.js";
import { runs } from "../../tasks/runs.js";
import { type BatchItem, triggerBatch, triggerTask, waitForRun } from "../../tasks/trigger.js";
import { flag, type ParsedArgs, UsageError } from "../args.js";
import { ProgressBar } from "../progress-bar.js";

/** `taskmesh trigger <task> [json] [--wait]`. */
export async function triggerCommand(args: ParsedArgs): Promise<void> {
	const [taskId, json] = args.positional;
	if (taskId === undefined)
		throw new UsageError('trigger: name a task, e.g. taskmesh trigger doc.ingest \'{"url":"..."}\'');
	const payload = json === undefined ? undefined : parseJson("payload", json);
	const handle = await triggerTask(taskId, payload, {
		...(flag(args, "delay") === undefined ? {} : { delay: flag(args, "delay") as string }),
		...(flag(args, "machine") === undefined ? {} : { machine: flag(args, "machine") as string }),
		...(flag(args, "idempotency-key") === undefined
			? {}
			: { idempotencyKey: flag(args, "idempotency-key") as string }),
	});
	console.log(handle.id);
	if (args.flags.get("wait") === true) printRun(await waitForRun(sdkClients(), handle.id));
}

/** `taskmesh runs ls|get|cancel|replay`. */
export async function runsCommand(args: ParsedArgs): Promise<void> {
	const [sub, id] = args.positional;
	switch (sub) {
		case "ls": {
			const status = flag(args, "status");
			const task = flag(args, "task");
			const page = await runs.list({
				...(status === undefined ? {} : { status: status.split(",") as RunStatusName[] }),
				...(task === undefined ? {} : { taskId: task.split(",") }),
				limit: Number(flag(args, "limit") ?? 20),
			});
			for (const r of page.runs) {
				console.log(
					`${r.id}  ${r.status.padEnd(14)} ${r.taskId.padEnd(24)} ${r.createdAt?.toISOString() ?? ""}`,
				);
			}
			if (page.nextCursor !== "") console.log(`more: --cursor ${page.nextCursor}`);
			return;
		}
		case "get":
			printRun(await runs.retrieve(need(id, "runs get <run id>")));
			return;
		case "cancel": {
			const result = await runs.cancel(need(id, "runs cancel <run id>"));
			console.log(`canceled: ${result.canceledRunIds.join(", ") || "(nothing; the run was final)"}`);
			return;
		}
		case "replay":
			console.log((await runs.replay(need(id, "runs replay <run id>"))).id);
			return;
		default:
			throw new UsageError("runs: use one of ls, get <run>, cancel <run>, replay <run>");
	}
}

/** `taskmesh batch <file>`: a JSON array of { task, payload, options } items, with a progress bar. */
export async function batchCommand(args: ParsedArgs): Promise<void> {
	const file = need(args.positional[0], "batch <file.json>");
	const items = parseJson(file, await readFile(file, "utf8")) as BatchItem[];
	if (!Array.isArray(items))
		throw new UsageError(`${file}: expected a JSON array of { "task", "payload" } items`);
	const bar = new ProgressBar("sending");
	const handle = await triggerBatch(items, (sent, total) => bar.update(sent, total));
	bar.done();
	console.log(handle.batchId);
	if (args.flags.get("wait") !== true) return;
	const clients = sdkClients();
	const progress = new ProgressBar("running");
	for await (const update of clients.batch.waitForBatch({
		environmentId: clients.environmentId,
		batchId: handle.batchId,
	})) {
		const b = update.batch;
		if (b !== undefined) progress.update(b.finalItemCount, b.expectedItemCount);
	}
	progress.done();
}

function printRun(run: RunInfo): void {
	console.log(`run      ${run.id}`);
	console.log(`task     ${run.taskId}`);
	console.log(`status   ${run.status}`);
	console.log(`machine  ${run.machine}`);
	console.log(`attempts ${run.attemptCount}`);
	if (run.output !== undefined) console.log(`output   ${JSON.stringify(run.output)}`);
	if (run.error !== undefined)
		console.log(
			`error    ${run.error.name}: ${run.error.message}${run.error.code ? ` (${run.error.code})` : ""}`,
		);
}

function need(value: string | undefined, usage: string): string {
	if (value === undefined || value === "") throw new UsageError(`usage: taskmesh ${usage}`);
	return value;
}

function parseJson(what: string, text: string): unknown {
	try {
		return JSON.parse(text);
	} catch (error) {
		throw new UsageError(`${what}: not valid JSON (${(error as Error).message})`);
	}
}
