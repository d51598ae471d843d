import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TaskmeshError, TaskmeshValidationError } from "../client/errors.js";
import { schedules } from "./schedules.js";
import { isTask, task } from "./task.js";
import { wait } from "./wait.js";

describe("task definitions", () => {
	test("task() keeps its options and is recognised among a module's exports", () => {
		const t = task({
			id: "doc.parse",
			machine: "micro",
			maxDuration: "2m",
			run: async (p: { x: number }) => p.x,
		});
		assert.equal(t.id, "doc.parse");
		assert.equal(t.options.machine, "micro");
		assert.ok(isTask(t));
		assert.equal(isTask({ id: "doc.parse" }), false);
	});

	test("bad task options are refused with the field named", () => {
		const run = async () => 1;
		assert.throws(
			() => task({ id: "", run }),
			(e: unknown) => e instanceof TaskmeshValidationError && /^id:/.test(e.message),
		);
		assert.throws(() => task({ id: "has space", run }), /is not a task id/);
		assert.throws(
			() => task({ id: "t", run, maxDuration: "forever" }),
			/t\.maxDuration: "forever" is not a duration/,
		);
		assert.throws(
			() => task({ id: "t", run, queue: { concurrencyLimit: -1 } }),
			/t\.queue\.concurrencyLimit: -1/,
		);
		assert.throws(() => task({ id: "t" } as never), /t\.run: run must be a function/);
	});

	test("a scheduled task carries its cron and timezone", () => {
		const t = schedules.task({
			id: "nightly",
			cron: { pattern: "0 3 * * *", timezone: "Europe/Paris" },
			run: async () => 1,
		});
		assert.deepEqual(t.cron, { pattern: "0 3 * * *", timezone: "Europe/Paris" });
		assert.deepEqual(schedules.task({ id: "hourly", cron: "0 * * * *", run: async () => 1 }).cron, {
			pattern: "0 * * * *",
			timezone: "UTC",
		});
		assert.throws(
			() => schedules.task({ id: "bad", cron: "every day", run: async () => 1 }),
			/bad\.cron: "every day"/,
		);
		assert.throws(
			() =>
				schedules.task({
					id: "bad",
					cron: { pattern: "0 3 * * *", timezone: "Mars/Base" },
					run: async () => 1,
				}),
			/bad\.cron\.timezone: "Mars\/Base"/,
		);
	});

	test("wait outside a task's run function says where it belongs", async () => {
		await assert.rejects(
			wait.for("1s"),
			(e: unknown) => e instanceof TaskmeshError && e.code === "NOT_IN_TASK",
		);
	});
});
