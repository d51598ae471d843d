/** Tasks the SDK end-to-end tests need beside the example project. */
import { logger, task, wait } from "../../sdk/src/index.js";

/** Sleeps, so a test can kill its worker mid-run; then returns who finished it. */
export const slowTask = task({
	id: "test.slow",
	machine: "micro",
	retry: { maxAttempts: 3, minTimeoutInMs: 100, maxTimeoutInMs: 500 },
	run: async (input: { ms: number; marker: string }) => {
		logger.info("slow task started", { marker: input.marker });
		await new Promise((r) => setTimeout(r, input.ms));
		return { marker: input.marker, pid: process.pid };
	},
});

/** Waits for two children at once, which the platform refuses. */
export const parallelWaits = task({
	id: "test.parallel-waits",
	machine: "micro",
	retry: { maxAttempts: 3, minTimeoutInMs: 100 },
	run: async () => {
		await Promise.all([
			slowTask.triggerAndWait({ ms: 10, marker: "a" }),
			slowTask.triggerAndWait({ ms: 10, marker: "b" }),
		]);
		return "unreachable";
	},
});

/** Allocates past the micro preset's 256 MiB heap. */
export const memoryHog = task({
	id: "test.memory-hog",
	machine: "micro",
	retry: { maxAttempts: 2, minTimeoutInMs: 100 },
	run: async () => {
		const hoard: string[][] = [];
		for (let i = 0; i < 1e6; i++) hoard.push(Array.from({ length: 1000 }, (_, j) => `${i}:${j}`));
		return hoard.length;
	},
});

/** Waits a second, then returns. */
export const napper = task({
	id: "test.nap",
	machine: "micro",
	run: async () => {
		const before = Date.now();
		await wait.for("1s");
		return { waitedMs: Date.now() - before };
	},
});

/** Fans out to `count` parse runs in one batch and returns their ids in item order. */
export const fanOut = task({
	id: "test.fan-out",
	machine: "micro",
	run: async (input: { count: number }) => {
		const items = Array.from({ length: input.count }, (_, i) => ({
			task: "doc.parse",
			payload: { id: `item-${i}`, text: `word${i} `.repeat((i % 3) + 1) },
		}));
		const { batch } = await import("../../sdk/src/index.js");
		const result = await batch.triggerAndWait<{ id: string; words: number }>(items);
		return {
			batchId: result.batchId,
			ids: result.runs.map((r) => (r.ok ? r.output?.id : `failed:${r.error?.message}`)),
			words: result.runs.map((r) => r.output?.words ?? -1),
		};
	},
});

/** Runs past its one-second max duration. */
export const overrunner = task({
	id: "test.overrun",
	machine: "micro",
	maxDuration: 1,
	run: async () => {
		await new Promise((r) => setTimeout(r, 30_000));
		return "too late";
	},
});

/** Triggers a child and waits for it, then waits two seconds: a run that a worker can hand over mid-wait. */
export const waitThenFinish = task({
	id: "test.wait-then-finish",
	machine: "micro",
	run: async (input: { marker: string }, { ctx }) => {
		const child = await slowTask.triggerAndWait({ ms: 10, marker: input.marker });
		await wait.for("2s");
		return { child: child.unwrap().marker, replayed: ctx.run.isReplay };
	},
});

const MiB = 1024 * 1024;

/** Returns a string of `bytes` characters `fill`: outputs of megabytes. */
export const bigOutput = task({
	id: "test.big-output",
	run: async (input: { bytes: number; fill: string }) => input.fill.repeat(input.bytes),
});

/**
 * Waits on three children in turn, each returning a ~6 MiB string, and returns
 * what it got: together more than one gRPC message carries, so a replay after the
 * third wait reads the older results the scheduler left out of its resume.
 */
export const bigParent = task({
	id: "test.big-parent",
	run: async () => {
		const got: { length: number; fill: string }[] = [];
		for (const fill of ["a", "b", "c"]) {
			const result = await bigOutput.triggerAndWait({ bytes: 6 * MiB, fill });
			const text = result.unwrap();
			got.push({ length: text.length, fill: text === fill.repeat(text.length) ? fill : "?" });
		}
		return got;
	},
});

/**
 * Awaits a small batch, then a ~6 MiB child: the child's results fill the resume, so
 * the batch's are elided and a replay reads them from ListBatchItems.
 */
export const batchThenBig = task({
	id: "test.batch-then-big",
	run: async () => {
		const { batch } = await import("../../sdk/src/index.js");
		const parsed = await batch.triggerAndWait<{ id: string; words: number }>([
			{ task: "doc.parse", payload: { id: "p0", text: "one" } },
			{ task: "doc.parse", payload: { id: "p1", text: "one two" } },
		]);
		const big = await bigOutput.triggerAndWait({ bytes: 6 * MiB, fill: "z" });
		return { words: parsed.runs.map((r) => r.output?.words ?? -1), bigLength: big.unwrap().length };
	},
});
