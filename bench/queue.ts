/**
 * bench:queue — taskmesh's queue service against BullMQ on the same Redis.
 *
 * 1. Throughput: N no-op messages, producer and consumer at once, from the first
 *    enqueue to the last acknowledgement. BullMQ: addBulk in chunks of 1,000, one
 *    Worker at concurrency 100 (in its own process). taskmesh: the queue service in
 *    its own process, batched Enqueue, one Consume stream with credits, each
 *    delivered batch acknowledged in one message on the stream.
 * 2. Latency: enqueue-to-delivery at a steady 500 per second, one message per call.
 * 3. taskmesh throughput with telemetry on (metrics and tracing SDKs) and off.
 *
 * Environment: BENCH_QUEUE_N (default 100000), BENCH_QUEUE_LATENCY_SECONDS
 * (default 10), BENCH_QUEUE_ROUNDS (default 2), REDIS_URL. Ends with
 * `ratio: <taskmesh/bullmq throughput>`.
 */
import { Redis } from "ioredis";
import { bullmqLatency, bullmqThroughput } from "./queue-bullmq.js";
import { percentile } from "./queue-pushable.js";
import {
	type RunningQueueService,
	startQueueService,
	taskmeshLatency,
	taskmeshThroughput,
} from "./queue-taskmesh.js";

const N = Number(process.env.BENCH_QUEUE_N ?? 100_000);
const LATENCY_SECONDS = Number(process.env.BENCH_QUEUE_LATENCY_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_QUEUE_ROUNDS ?? 2);
const RATE = 500;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const perSecond = (n: number, ms: number) => Math.round((n * 1000) / ms);
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

async function dropNamespace(namespace: string): Promise<void> {
	const redis = new Redis(REDIS_URL);
	let cursor = "0";
	do {
		const [next, keys] = await redis.scan(cursor, "MATCH", `${namespace}*`, "COUNT", 1000);
		if (keys.length > 0) await redis.del(...keys);
		cursor = next;
	} while (cursor !== "0");
	await redis.quit();
}

async function withService<T>(telemetry: boolean, body: (s: RunningQueueService) => Promise<T>): Promise<T> {
	const service = await startQueueService(telemetry, REDIS_URL);
	try {
		return await body(service);
	} finally {
		await service.stop();
		await dropNamespace(service.namespace);
	}
}

console.log(
	`bench:queue  N=${N} messages, latency at ${RATE}/s for ${LATENCY_SECONDS} s, ${ROUNDS} rounds, ${REDIS_URL}`,
);

// Rounds alternate the systems so drift on a shared machine hits both alike; best of each.
const bull: number[] = [];
const off: number[] = [];
const on: number[] = [];
for (let round = 1; round <= ROUNDS; round++) {
	bull.push(perSecond(N, await bullmqThroughput(N, REDIS_URL)));
	off.push(perSecond(N, await withService(false, (s) => taskmeshThroughput(s, N))));
	on.push(perSecond(N, await withService(true, (s) => taskmeshThroughput(s, N))));
	console.log(
		`round ${round}: bullmq ${bull.at(-1)}/s, taskmesh ${off.at(-1)}/s (telemetry off), ${on.at(-1)}/s (on)`,
	);
}
const bullBest = Math.max(...bull);
const offBest = Math.max(...off);
const onBest = Math.max(...on);

const bullLatency = await bullmqLatency(RATE, LATENCY_SECONDS, REDIS_URL);
const meshLatency = await withService(true, (s) => taskmeshLatency(s, RATE, LATENCY_SECONDS));

console.log("");
console.log("throughput (messages/s, best of rounds, first enqueue to last acknowledgement)");
console.log(`  bullmq   addBulk x1000, Worker concurrency 100:          ${bullBest}`);
console.log(`  taskmesh Enqueue x1000, Consume + batched acks, tel. on:  ${onBest}`);
console.log(`  taskmesh same, telemetry off:                            ${offBest}`);
console.log(
	`  telemetry on/off: ${(onBest / offBest).toFixed(3)} (${(((onBest - offBest) / offBest) * 100).toFixed(1)}%)`,
);
console.log(
	`latency at ${RATE}/s, enqueue to delivery (${bullLatency.length} / ${meshLatency.length} samples)`,
);
console.log(`  bullmq   p50 ${fmt(percentile(bullLatency, 50))}  p99 ${fmt(percentile(bullLatency, 99))}`);
console.log(`  taskmesh p50 ${fmt(percentile(meshLatency, 50))}  p99 ${fmt(percentile(meshLatency, 99))}`);
console.log(
	`  p99 taskmesh/bullmq: ${(percentile(meshLatency, 99) / percentile(bullLatency, 99)).toFixed(2)}`,
);
console.log(`ratio: ${(onBest / bullBest).toFixed(2)}`);
