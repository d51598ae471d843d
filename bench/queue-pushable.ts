import { type ChildProcess, fork } from "node:child_process";
/** An async iterable the benchmark pushes stream requests into. */
export class Pushable<T> implements AsyncIterable<T> {
	private readonly items: T[] = [];
	private wake: (() => void) | undefined;
	private ended = false;

	/** Queues an item for the stream. */
	push(item: T): void {
		this.items.push(item);
		this.wake?.();
	}

	/** Ends the stream after what is queued. */
	end(): void {
		this.ended = true;
		this.wake?.();
	}

	async *[Symbol.asyncIterator](): AsyncGenerator<T> {
		for (;;) {
			const item = this.items.shift();
			if (item !== undefined) {
				yield item;
				continue;
			}
			if (this.ended) return;
			await new Promise<void>((resolve) => {
				this.wake = resolve;
			});
			this.wake = undefined;
		}
	}
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
	if (values.length === 0) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
	return sorted[index] as number;
}

/** Wall-clock ms with sub-ms precision, comparable across processes of one host. */
export function preciseNow(): number {
	return performance.timeOrigin + performance.now();
}

/** Latencies of a steady-rate run, split at the end of its warm-up. */
export interface LatencySplit {
	/** Messages sent during the warm-up: fresh processes, code not yet optimised by V8. */
	warmup: number[];
	/** Messages sent after it: the steady state the figures are about. */
	steady: number[];
	/** p99 of the messages sent in each WINDOW_MS from the start (of 100 or more), warm-up included. */
	p99ByWindow: number[];
}

/** The width of the windows of LatencySplit.p99ByWindow. */
export const WINDOW_MS = 5000;

/**
 * Splits consumer samples, flattened as [sentAt, latency, sentAt, latency, ...],
 * into those sent in the first `warmupMs` after `started` (a preciseNow() time)
 * and those sent after, and takes the p99 of each WINDOW_MS from the start: the
 * windows show when a system's tail has settled, which is what the warm-up is for.
 */
export function splitAtWarmup(samples: number[], started: number, warmupMs: number): LatencySplit {
	const split: LatencySplit = { warmup: [], steady: [], p99ByWindow: [] };
	const windows: number[][] = [];
	for (let i = 0; i + 1 < samples.length; i += 2) {
		const sentAt = samples[i] as number;
		const latency = samples[i + 1] as number;
		if (sentAt < started + warmupMs) split.warmup.push(latency);
		else split.steady.push(latency);
		const w = Math.max(0, Math.floor((sentAt - started) / WINDOW_MS));
		const inWindow = windows[w];
		if (inWindow === undefined) windows[w] = [latency];
		else inWindow.push(latency);
	}
	// A last window holding only the final few messages of a run says nothing of its tail.
	for (const inWindow of windows) {
		if (inWindow !== undefined && inWindow.length >= 100) split.p99ByWindow.push(percentile(inWindow, 99));
	}
	return split;
}

/** What a bench consumer process reports when it has handled the expected number. */
export interface ConsumerReport {
	/** preciseNow() when the last one was handled. */
	done: number;
	/** Latency mode: [sentAt, latency] pairs, flattened. */
	latencies: number[];
}

/** A consumer (taskmesh's or BullMQ's) running in a process of its own. */
export interface ConsumerProcess {
	done: Promise<ConsumerReport>;
	stop(): Promise<void>;
}

/**
 * Forks a bench consumer script in its own process, as workers are deployed, and
 * waits until it says it is ready. The script reports `{ ready }`, then
 * `{ done, latencies }` over IPC, and exits when sent `{ stop }`.
 */
export async function forkConsumer(
	script: string,
	label: string,
	env: Record<string, string>,
): Promise<ConsumerProcess> {
	const child: ChildProcess = fork(script, [], {
		execArgv: ["--import", "tsx"],
		env: { ...process.env, ...env },
	});
	let report: (r: ConsumerReport) => void = () => {};
	const done = new Promise<ConsumerReport>((resolve) => {
		report = resolve;
	});
	await new Promise<void>((resolve, reject) => {
		child.on("message", (m: { ready?: boolean } & Partial<ConsumerReport>) => {
			if (m.ready) resolve();
			if (m.done !== undefined) report({ done: m.done, latencies: m.latencies ?? [] });
		});
		child.once("exit", (code) => reject(new Error(`${label} exited with ${code}`)));
	});
	return {
		done,
		async stop() {
			const exited = new Promise((resolve) => child.once("exit", resolve));
			child.send({ stop: true });
			await exited;
		},
	};
}
