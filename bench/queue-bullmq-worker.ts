/**
 * The BullMQ side of bench/queue.ts, in its own process (as a deployment runs
 * workers): one Worker at concurrency 100 with a no-op processor. Reports over
 * IPC when it has completed the expected number of jobs.
 */
import { Worker } from "bullmq";
import { preciseNow } from "./queue-pushable.js";

const name = process.env.BENCH_QUEUE ?? "bench";
const prefix = process.env.BENCH_PREFIX ?? "bull";
const expected = Number(process.env.BENCH_N ?? "0");
const mode = process.env.BENCH_MODE ?? "throughput";
const redisUrl = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");

// Latency mode: [sentAt, latency] pairs, flattened.
const latencies: number[] = [];
let completed = 0;
const worker = new Worker(
	name,
	async (job) => {
		if (mode === "latency") {
			const sentAt = (job.data as { t: number }).t;
			latencies.push(sentAt, preciseNow() - sentAt);
		}
	},
	{
		connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379), maxRetriesPerRequest: null },
		prefix,
		concurrency: 100,
	},
);
worker.on("completed", () => {
	completed += 1;
	if (completed === expected) {
		process.send?.({ done: preciseNow(), latencies });
	}
});
await worker.waitUntilReady();
process.send?.({ ready: true });
process.on("message", async (m: { stop?: boolean }) => {
	if (m.stop) {
		await worker.close();
		process.exit(0);
	}
});
