import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { AttemptProcess, TaskLoadError } from "./attempt-process.js";
import type { AttemptAssignment, FromChild } from "./ipc-protocol.js";
import { indexTasks } from "./registration.js";

const SDK = fileURLToPath(new URL("../index.ts", import.meta.url));

/** A first attempt of a task on the micro preset, with a JSON payload. */
function assignment(taskId: string, payload: string, memoryGb = 0.25): AttemptAssignment {
	return {
		ctx: {
			run: { id: `run_${taskId}`, tags: [], isReplay: false, batchId: "", parentRunId: "" },
			attempt: { id: `attempt_${taskId}`, number: 1 },
			task: { id: taskId },
			environment: { id: "dev" },
			machine: { name: "micro", cpu: 0.25, memoryGb },
		},
		payload: new TextEncoder().encode(payload),
		payloadType: "application/json",
		resolvedWaits: [],
	};
}

describe("attempt child processes", () => {
	let dir: string;
	let tasksFile: string;

	before(async () => {
		dir = await mkdtemp(path.join(tmpdir(), "taskmesh-child-"));
		tasksFile = path.join(dir, "tasks.ts");
		await writeFile(
			tasksFile,
			`import { task, schedules } from ${JSON.stringify(SDK)};
export const echo = task({ id: "echo", machine: "micro", maxDuration: "5s", run: async (p: unknown) => ({ echoed: p }) });
export const hog = task({ id: "hog", run: async () => { const a: string[][] = []; for (;;) a.push(Array.from({ length: 1000 }, (_, i) => "x" + i)); } });
export const nightly = schedules.task({ id: "nightly", cron: "0 3 * * *", run: async () => 1 });
`,
		);
	});

	after(async () => {
		await rm(dir, { recursive: true, force: true });
	});

	test("indexing lists every exported task with its declared options", async () => {
		const tasks = await indexTasks([tasksFile], {});
		assert.deepEqual(
			tasks.map((t) => t.id),
			["echo", "hog", "nightly"],
		);
		assert.equal(tasks[0]?.machine, "micro");
		assert.equal(tasks[0]?.maxDurationMs, 5000);
		assert.deepEqual(tasks[2]?.cron, { pattern: "0 3 * * *", timezone: "UTC" });
	});

	test("a child runs an attempt and returns its output as JSON", async () => {
		const proc = await AttemptProcess.start({ entries: [tasksFile], memoryMiB: 256 });
		const done = new Promise<FromChild>((resolve) =>
			proc.on("message", (m) => m.type === "done" && resolve(m)),
		);
		proc.send({ type: "run", assignment: assignment("echo", '{"hello":"world"}') });
		const message = await done;
		assert.equal(message.type, "done");
		if (message.type === "done")
			assert.equal(new TextDecoder().decode(message.output), '{"echoed":{"hello":"world"}}');
		await proc.kill();
	});

	test("a child whose heap passes its cap dies with an out-of-memory exit", async () => {
		const proc = await AttemptProcess.start({ entries: [tasksFile], memoryMiB: 64 });
		const exited = new Promise<NonNullable<AttemptProcess["exited"]>>((resolve) =>
			proc.once("exit", resolve),
		);
		proc.send({ type: "run", assignment: assignment("hog", "", 0.0625) });
		const exit = await exited;
		assert.equal(exit.outOfMemory, true, exit.stderrTail);
	});

	test("a task file that throws at load is a TaskLoadError with the file's message", async () => {
		const broken = path.join(dir, "broken.ts");
		await writeFile(broken, 'throw new Error("DATABASE_URL is not set");\nexport {};\n');
		await assert.rejects(AttemptProcess.start({ entries: [broken], memoryMiB: 128 }), (e: unknown) => {
			assert.ok(e instanceof TaskLoadError);
			assert.match(e.message, /DATABASE_URL is not set/);
			return true;
		});
	});
});
