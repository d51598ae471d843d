/** The BullMQ side of bench/queue.ts: producer here, a Worker in its own process. */
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { forkConsumer, type LatencySplit, preciseNow, splitAtWarmup } from "./queue-pushable.js";

function startWorker(name: string, prefix: string, n: number, mode: string, redisUrl: string) {
	return forkConsumer("./bench/queue-bullmq-worker.ts", "BullMQ worker", {
		BENCH_QUEUE: name,
		BENCH_PREFIX: prefix,
		BENCH_N: String(n),
		BENCH_MODE: mode,
		REDIS_URL: redisUrl,
	});
}

function connectionOf(redisUrl: string) {
	const url = new URL(redisUrl);
	return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

const jobOptions = { removeOnComplete: true, removeOnFail: true };

/** Ms from the first addBulk to the worker's last completion of n no-op jobs. */
export async function bullmqThroughput(n: number, redisUrl: string): Promise<number> {
	const name = `tput-${randomBytes(3).toString("hex")}`;
	const prefix = "bench-bull";
	const worker = await startWorker(name, prefix, n, "throughput", redisUrl);
	const queue = new Queue(name, { connection: connectionOf(redisUrl), prefix });
	const started = preciseNow();
	for (let from = 0; from < n; from += 1000) {
		const count = Math.min(1000, n - from);
		await queue.addBulk(
			Array.from({ length: count }, (_, k) => ({ name: "noop", data: { i: from + k }, opts: jobOptions })),
		);
	}
	const { done } = await worker.done;
	await worker.stop();
	await queue.obliterate({ force: true });
	await queue.close();
	return done - started;
}

/**
 * Add-to-processing latencies (ms) at a steady rate, one add() per job:
 * `warmupSeconds` first, then `seconds` of steady state.
 */
export async function bullmqLatency(
	rate: number,
	seconds: number,
	warmupSeconds: number,
	redisUrl: string,
): Promise<LatencySplit> {
	const name = `lat-${randomBytes(3).toString("hex")}`;
	const prefix = "bench-bull";
	const total = rate * (warmupSeconds + seconds);
	const worker = await startWorker(name, prefix, total, "latency", redisUrl);
	const queue = new Queue(name, { connection: connectionOf(redisUrl), prefix });
	const started = preciseNow();
	const adds: Array<Promise<unknown>> = [];
	let sent = 0;
	while (sent < total) {
		const due = Math.min(total, Math.floor(((preciseNow() - started) * rate) / 1000));
		for (; sent < due; sent++) adds.push(queue.add("noop", { t: preciseNow() }, jobOptions));
		await sleep(1);
	}
	await Promise.all(adds);
	const { latencies } = await worker.done;
	await worker.stop();
	await queue.obliterate({ force: true });
	await queue.close();
	return splitAtWarmup(latencies, started, warmupSeconds * 1000);
}
