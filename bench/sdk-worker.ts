/**
 * Worker throughput: N short tasks run in child processes, through the whole
 * platform (batch -> scheduler -> queue -> SDK worker -> scheduler), against
 * BullMQ sandboxed processors (also child processes) on the same Redis, with the
 * same number of attempts at once. Prints runs/s of each and their ratio.
 *
 *   npx tsx bench/sdk-worker.ts [N=500] [concurrency=4]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker as BullWorker, Queue } from "bullmq";
import { batch } from "../sdk/src/index.js";
import { randomSuffix, testStores } from "../services/kit/src/testing/stores.js";
import { configureDirect, startPlatform, startWorker } from "../test/e2e/sdk-platform.js";

const N = Number(process.argv[2] ?? 500);
const CONCURRENCY = Number(process.argv[3] ?? 4);
const texts = Array.from({ length: N }, (_, i) => `the quick brown fox ${i} jumps over the lazy dog`);

async function taskmesh(): Promise<number> {
	// As deployed: no development lifecycle lines per message.
	const platform = await startPlatform(`bench-sdk-${randomSuffix()}`, { TASKMESH_ENV: "production" });
	configureDirect(platform);
	const worker = await startWorker(platform.env, {
		TASKMESH_ENV: "production",
		TASKMESH_WORKER_MAX_ATTEMPTS: String(CONCURRENCY),
	});
	// Warm the worker's child processes, as a long-running worker would be.
	await batch.triggerAndWait(
		texts.slice(0, CONCURRENCY).map((text, i) => ({ task: "doc.parse", payload: { id: `w${i}`, text } })),
	);
	const start = performance.now();
	const result = await batch.triggerAndWait(
		texts.map((text, i) => ({ task: "doc.parse", payload: { id: `d${i}`, text } })),
	);
	const seconds = (performance.now() - start) / 1000;
	if (result.runs.some((r) => !r.ok)) throw new Error("a taskmesh run failed");
	worker.child.kill("SIGTERM");
	await worker.exited;
	await platform.stop();
	return N / seconds;
}

async function bullmq(): Promise<number> {
	const stores = await testStores();
	const dir = await mkdtemp(path.join(tmpdir(), "bench-sdk-"));
	const processor = path.join(dir, "parse.mjs");
	await writeFile(
		processor,
		"export default async (job) => { const words = job.data.text.split(/\\s+/); return { id: job.data.id, words: words.length }; };\n",
	);
	const name = `bench-sdk-${randomSuffix()}`;
	const redisUrl = new URL(stores.redisUrl);
	const connection = {
		host: redisUrl.hostname,
		port: Number(redisUrl.port || 6379),
		maxRetriesPerRequest: null,
	};
	const queue = new Queue(name, { connection });
	let done = 0;
	let finish: () => void = () => undefined;
	const all = new Promise<void>((r) => {
		finish = r;
	});
	const worker = new BullWorker(name, processor, {
		connection,
		concurrency: CONCURRENCY,
		useWorkerThreads: false,
	});
	worker.on("completed", () => {
		if (++done === N + CONCURRENCY) finish();
	});
	await queue.addBulk(
		texts.slice(0, CONCURRENCY).map((text, i) => ({ name: "parse", data: { id: `w${i}`, text } })),
	);
	while (done < CONCURRENCY) await new Promise((r) => setTimeout(r, 20));
	const start = performance.now();
	await queue.addBulk(texts.map((text, i) => ({ name: "parse", data: { id: `d${i}`, text } })));
	await all;
	const seconds = (performance.now() - start) / 1000;
	await worker.close();
	await queue.obliterate({ force: true });
	await queue.close();
	await rm(dir, { recursive: true, force: true });
	return N / seconds;
}

const baseline = await bullmq();
const ours = await taskmesh();
console.log(`tasks: ${N}, attempts at once: ${CONCURRENCY}`);
console.log(`BullMQ sandboxed processors: ${baseline.toFixed(0)} jobs/s`);
console.log(`taskmesh SDK worker (batch -> scheduler -> queue -> worker): ${ours.toFixed(1)} runs/s`);
console.log(`ratio taskmesh / BullMQ: ${(ours / baseline).toFixed(3)}`);
