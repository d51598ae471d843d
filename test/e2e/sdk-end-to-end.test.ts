import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { LogIngestService } from "../../gen/taskmesh/logs/v1/logs_pb.js";
import {
	NotFoundError,
	PayloadSerializationError,
	runs,
	schedules,
	TaskmeshError,
	TaskmeshValidationError,
	tasks,
} from "../../sdk/src/index.js";
import { runToExit } from "../../services/kit/src/testing/process.js";
import { randomSuffix } from "../../services/kit/src/testing/stores.js";
import {
	configureDirect,
	startPlatform,
	startWorker,
	type TestPlatform,
	type WorkerProcess,
} from "./sdk-platform.js";

const CLI = fileURLToPath(new URL("../../sdk/src/cli/main.ts", import.meta.url));

function cli(env: Record<string, string>, ...args: string[]) {
	return runToExit(process.execPath, ["--import", "tsx", CLI, ...args], env);
}

async function untilTrue<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
	for (let i = 0; i < 300; i++) {
		const found = await probe();
		if (found !== undefined) return found;
		await new Promise((r) => setTimeout(r, 100));
	}
	throw new Error(`never happened: ${what}`);
}

describe("SDK end to end through the services", () => {
	let platform: TestPlatform;
	let worker: WorkerProcess;
	let dir: string;
	const env = `sdk-e2e-${randomSuffix()}`;

	before(async () => {
		dir = await mkdtemp(path.join(tmpdir(), "taskmesh-sdk-"));
		platform = await startPlatform(env);
		configureDirect(platform);
		worker = await startWorker(platform.env);
	});

	after(async () => {
		worker?.child.kill("SIGTERM");
		const code = await worker?.exited;
		await platform?.stop();
		await rm(dir, { recursive: true, force: true });
		assert.equal(code, 0, "the worker exits 0 after SIGTERM");
	});

	test("a triggered task runs on the worker and its output comes back", async () => {
		const result = await tasks.triggerAndWait("doc.parse", { id: "d1", text: "the cat and the hat" });
		assert.equal(result.ok, true, String(result.error));
		assert.deepEqual(result.output, { id: "d1", words: 5, topWord: "the" });
		const run = await runs.retrieve(result.id);
		assert.equal(run.status, "COMPLETED");
		assert.equal(run.machine, "micro");
	});

	test("the document pipeline fans out, logs a large report whole, exports telemetry and returns its result", async () => {
		const traceFile = path.join(dir, "spans.jsonl");
		const added = await cli(platform.env, "exporters", "add", "e2e-file", "--file", traceFile);
		assert.equal(added.code, 0, added.stderr);

		const documents = Array.from({ length: 12 }, (_, i) => ({
			id: `doc-${i}`,
			text: `alpha beta gamma ${"lorem ipsum dolor sit amet ".repeat(800)} doc${i}`,
		}));
		const result = await tasks.triggerAndWait<{
			documents: number;
			words: number;
			renderedBytes: number;
			batchId: string;
		}>("doc.ingest", { documents });
		assert.equal(result.ok, true, String(result.error));
		const output = result.unwrap();
		assert.equal(output.documents, 12);
		assert.equal(output.words, 12 * (3 + 5 * 800 + 1));
		assert.ok(output.renderedBytes > 0);
		assert.match(output.batchId, /^batch_/, "the batch id comes back with the results");

		// Logs: the report is one message larger than a chunk, stored whole.
		const logs = createClient(
			LogIngestService,
			createGrpcTransport({ baseUrl: platform.urls.logs as string }),
		);
		const records = await untilTrue("the report is stored", async () => {
			const page = await logs.query({ environmentId: env, runId: result.id, pageSize: 100 });
			return page.records.some((r) => new TextDecoder().decode(r.body).startsWith("report"))
				? page.records
				: undefined;
		});
		assert.ok(records.some((r) => new TextDecoder().decode(r.body) === "ingest started"));
		const report = records.find((r) => new TextDecoder().decode(r.body).startsWith("report"));
		assert.ok(report !== undefined);
		assert.equal(report.incomplete, false);
		const expected = `report\n${documents.map((d) => `${d.id}\t${3 + 5 * 800 + 1}\t${"lorem"}\t${d.text}`).join("\n")}`;
		assert.equal(Number(report.bodySize), Buffer.byteLength(expected));
		let whole = "";
		for await (const piece of logs.readMessageBody({
			environmentId: env,
			runId: result.id,
			messageId: report.messageId,
		})) {
			whole += Buffer.from(piece.data).toString();
		}
		assert.equal(whole, expected);

		// Telemetry: the attempt's span reached the file exporter.
		const span = await untilTrue("the attempt span is exported", async () => {
			const text = await readFile(traceFile, "utf8").catch(() => "");
			return text.split("\n").find((l) => l.includes(result.id) && l.includes("attempt doc.ingest"));
		});
		assert.match(span, /taskmesh\.task_id/);

		// The CLI reads the same run and its logs.
		const got = await cli(platform.env, "runs", "get", result.id);
		assert.equal(got.code, 0, got.stderr);
		assert.match(got.stdout, /status +COMPLETED/);
		const printed = await cli(platform.env, "logs", result.id);
		assert.equal(printed.code, 0, printed.stderr);
		assert.match(printed.stdout, /INFO +ingest started/);
	});

	test("taskmesh logs --follow prints a run's messages live and returns once the run is final", async () => {
		const handle = await tasks.trigger("test.slow", { ms: 1500, marker: "followed" });
		const followed = await cli(platform.env, "logs", handle.id, "--follow");
		assert.equal(followed.code, 0, followed.stderr);
		assert.match(followed.stdout, /INFO +slow task started \{"marker":"followed"\}/);
		assert.equal((await runs.retrieve(handle.id)).status, "COMPLETED");
	});

	test("batchTriggerAndWait of 20 items inside a task gets its results with the resume, in item order", async () => {
		const result = await tasks.triggerAndWait<{ batchId: string; ids: string[]; words: number[] }>(
			"test.fan-out",
			{ count: 20 },
		);
		assert.equal(result.ok, true, String(result.error));
		const output = result.unwrap();
		assert.deepEqual(
			output.ids,
			Array.from({ length: 20 }, (_, i) => `item-${i}`),
		);
		assert.deepEqual(
			output.words,
			Array.from({ length: 20 }, (_, i) => (i % 3) + 1),
		);
	});

	test("batchTriggerAndWait of 1,000 items inside a task (results past the resume budget, read from ListBatchItems) returns every result in item order", async () => {
		const result = await tasks.triggerAndWait<{ batchId: string; ids: string[]; words: number[] }>(
			"test.fan-out",
			{
				count: 1000,
			},
		);
		assert.equal(result.ok, true, String(result.error));
		const output = result.unwrap();
		assert.equal(output.ids.length, 1000);
		assert.deepEqual(
			output.ids,
			Array.from({ length: 1000 }, (_, i) => `item-${i}`),
		);
		assert.deepEqual(
			output.words,
			Array.from({ length: 1000 }, (_, i) => (i % 3) + 1),
		);
		const children = await runs.list({ batchId: output.batchId, limit: 500 });
		assert.ok(children.runs.every((r) => r.status === "COMPLETED"));
	});

	test("batchTrigger of 1,200 items streams them in chunks (the SDK's own chunk encoder) and every item becomes its run with its payload and options", async () => {
		const sent: number[] = [];
		const handle = await tasks.batchTrigger(
			Array.from({ length: 1200 }, (_, i) => ({
				task: "doc.parse",
				payload: { id: `streamed-${i}`, text: "a b" },
				...(i === 1100 ? { options: { tags: ["streamed"], priority: 2 } } : {}),
			})),
			(count) => sent.push(count),
		);
		assert.equal(handle.runCount, 1200);
		assert.deepEqual(sent, [500, 1000, 1200], "sent in chunks, progress after each");
		let listed = 0;
		let tagged: string[] = [];
		let page = await runs.list({ batchId: handle.batchId, limit: 500 });
		for (;;) {
			listed += page.runs.length;
			for (const run of page.runs) if (run.tags.length > 0) tagged = run.tags;
			if (page.nextCursor === "") break;
			page = await runs.list({ batchId: handle.batchId, limit: 500, cursor: page.nextCursor });
		}
		assert.equal(listed, 1200);
		assert.deepEqual(tagged, ["streamed"], "the one item with options kept them");
		const one = await runs.list({ batchId: handle.batchId, tag: "streamed", limit: 5 });
		const run = await runs.retrieve(one.runs[0]?.id ?? "");
		assert.deepEqual(run.payload, { id: "streamed-1100", text: "a b" });
	});

	test("two waits at once fail the run with ConcurrentWaitError, without retry", async () => {
		const result = await tasks.triggerAndWait("test.parallel-waits", {});
		assert.equal(result.ok, false);
		const run = await runs.retrieve(result.id);
		assert.equal(run.status, "FAILED");
		assert.equal(run.error?.code, "TASK_DID_CONCURRENT_WAIT");
		assert.match(run.error?.message ?? "", /parallel/);
		assert.equal(run.attemptCount, 1, "no retry");
	});

	test("a task allocating past its preset's memory fails with OUT_OF_MEMORY and the worker lives on", async () => {
		const result = await tasks.triggerAndWait("test.memory-hog", {});
		assert.equal(result.ok, false);
		const run = await runs.retrieve(result.id);
		assert.equal(run.status, "FAILED");
		assert.equal(run.error?.code, "OUT_OF_MEMORY");
		assert.match(run.error?.message ?? "", /micro preset's 256 MiB/);
		assert.equal(worker.child.exitCode, null, "the worker is still running");
		const after = await tasks.triggerAndWait("doc.parse", { id: "after-oom", text: "still here" });
		assert.deepEqual(after.unwrap(), { id: "after-oom", words: 2, topWord: "still" });
	});

	test("an attempt past its max duration is stopped and the run does not complete", async () => {
		const result = await tasks.triggerAndWait("test.overrun", {});
		assert.equal(result.ok, false);
		const run = await runs.retrieve(result.id);
		// Whichever sees the deadline first ends it: the worker (MAX_DURATION_EXCEEDED) or the scheduler (TIMED_OUT).
		assert.ok(["FAILED", "TIMED_OUT"].includes(run.status), run.status);
		if (run.status === "FAILED") assert.equal(run.error?.code, "MAX_DURATION_EXCEEDED");
		assert.equal(worker.child.exitCode, null, "the worker is still running");
	});

	test("wait.for suspends the run and the worker holding it resumes it in place", async () => {
		const result = await tasks.triggerAndWait<{ waitedMs: number }>("test.nap", {});
		assert.equal(result.ok, true, String(result.error));
		assert.ok(result.unwrap().waitedMs >= 1000);
		// The only worker still held the suspended child, so it resumed it rather than replaying.
		await worker.waitFor(new RegExp(`${result.id} test\\.nap +resumed in place`));
	});

	test("a scheduled task's cron becomes a schedule, and schedules can be created, listed and deleted", async () => {
		const declared = await schedules.list({ task: "doc.nightly-digest" });
		assert.equal(declared.length, 1);
		assert.equal(declared[0]?.cron, "0 3 * * *");
		assert.equal(declared[0]?.timezone, "Europe/Paris");
		assert.equal(declared[0]?.deduplicationKey, "declared:doc.nightly-digest");

		const made = await schedules.create({ task: "doc.parse", cron: "*/5 * * * *", externalId: "user-7" });
		assert.equal(made.active, true);
		assert.ok(made.nextRunAt instanceof Date);
		assert.ok(
			(await schedules.list({ task: "doc.parse" })).some(
				(x) => x.id === made.id && x.externalId === "user-7",
			),
		);
		await schedules.del(made.id);
		assert.equal(
			(await schedules.list({ task: "doc.parse" })).some((x) => x.id === made.id),
			false,
		);
	});

	test("bad input is a typed error in the SDK and one line with a non-zero exit in the CLI", async () => {
		await assert.rejects(tasks.trigger("no.such.task", {}), (e: unknown) => {
			assert.ok(e instanceof TaskmeshError);
			assert.match(e.message, /no\.such\.task/);
			return true;
		});
		await assert.rejects(tasks.trigger("doc.parse", { n: 10n }), PayloadSerializationError);
		await assert.rejects(tasks.trigger("doc.parse", {}, { delay: "soon" }), (e: unknown) => {
			assert.ok(e instanceof TaskmeshValidationError);
			assert.equal(e.fieldViolations[0]?.field, "options.delay");
			return true;
		});
		await assert.rejects(runs.retrieve("run_doesnotexist"), NotFoundError);
		const out = await cli(platform.env, "trigger", "no.such.task", "{}");
		assert.notEqual(out.code, 0);
		assert.equal(out.stderr.trim().split("\n").length, 1);
		assert.match(out.stderr, /^taskmesh: .*no\.such\.task/);
	});

	test("a task file that throws at load stops the worker with one readable line", async () => {
		const broken = path.join(dir, "broken-tasks.ts");
		await import("node:fs/promises").then((fs) =>
			fs.writeFile(broken, 'throw new Error("missing OPENAI_KEY");\nexport {};\n'),
		);
		const out = await cli(platform.env, "worker", broken);
		assert.notEqual(out.code, 0);
		assert.match(out.stderr, /taskmesh: a task file failed to load: Error: missing OPENAI_KEY/);
	});
});
