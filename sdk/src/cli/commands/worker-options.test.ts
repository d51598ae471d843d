import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { configFromEnv } from "../../client/config.js";
import { parseArgs, UsageError } from "../args.js";
import { workerOptionsOf } from "./worker-options.js";

const config = configFromEnv({});
const optionsOf = (argv: string[], env: Record<string, string> = {}) =>
	workerOptionsOf(parseArgs(argv, new Set()), false, config, env);

describe("taskmesh worker options", () => {
	test("flags set capacity, attempts, prefetch, grace and identity; files are resolved", () => {
		const options = optionsOf([
			"src/tasks.ts",
			"--cpu",
			"4",
			"--memory-gb",
			"8",
			"--max-attempts",
			"6",
			"--prefetch",
			"3",
			"--grace-ms",
			"500",
			"--id",
			"w-1",
			"--version",
			"v7",
		]);
		assert.deepEqual(options.entries, [path.resolve("src/tasks.ts")]);
		assert.deepEqual(options.capacity, { cpu: 4, memoryGb: 8 });
		assert.equal(options.maxConcurrentAttempts, 6);
		assert.equal(options.prefetchDeliveries, 3);
		assert.equal(options.gracePeriodMs, 500);
		assert.equal(options.workerId, "w-1");
		assert.equal(options.deploymentVersion, "v7");
	});

	test("a prefetch of 0 takes one delivery per free slot; absent, the worker's default applies", () => {
		assert.equal(optionsOf(["t.ts", "--prefetch", "0"]).prefetchDeliveries, 0);
		assert.equal(optionsOf(["t.ts"], { TASKMESH_WORKER_PREFETCH: "2" }).prefetchDeliveries, 2);
		assert.equal(
			optionsOf(["t.ts", "--prefetch", "5"], { TASKMESH_WORKER_PREFETCH: "2" }).prefetchDeliveries,
			5,
		);
		assert.equal("prefetchDeliveries" in optionsOf(["t.ts"]), false);
		assert.equal(optionsOf(["t.ts"]).gracePeriodMs, 30_000);
	});

	test("TASKMESH_WORKER_SUSPENDED_KEEP_MS sets how long suspended children are kept, 0 for none", () => {
		assert.equal(optionsOf(["t.ts"], { TASKMESH_WORKER_SUSPENDED_KEEP_MS: "0" }).suspendedKeepMs, 0);
		assert.equal(optionsOf(["t.ts"], { TASKMESH_WORKER_SUSPENDED_KEEP_MS: "5000" }).suspendedKeepMs, 5000);
		assert.equal("suspendedKeepMs" in optionsOf(["t.ts"]), false);
	});

	test("bad values are usage errors naming the flag or variable", () => {
		const refused = (argv: string[], env: Record<string, string>, message: RegExp) =>
			assert.throws(
				() => optionsOf(argv, env),
				(error: unknown) => error instanceof UsageError && message.test(error.message),
			);
		refused(["t.ts", "--prefetch", "-1"], {}, /--prefetch: "-1" is not a non-negative number/);
		refused(["t.ts", "--prefetch", "1.5"], {}, /--prefetch: "1.5" is not a whole number/);
		refused(["t.ts"], { TASKMESH_WORKER_PREFETCH: "many" }, /TASKMESH_WORKER_PREFETCH: "many"/);
		refused(["t.ts", "--cpu", "0"], {}, /--cpu: "0" is not a positive number/);
		refused(["t.ts"], { TASKMESH_WORKER_MAX_ATTEMPTS: "x" }, /TASKMESH_WORKER_MAX_ATTEMPTS/);
		refused(["t.ts"], { TASKMESH_WORKER_SUSPENDED_KEEP_MS: "-5" }, /TASKMESH_WORKER_SUSPENDED_KEEP_MS: "-5"/);
		refused([], {}, /name the task file/);
	});
});
