/**
 * bench:scheduler — Trigger → StartAttempt latency of taskmesh (scheduler and queue
 * services as separate processes, a worker that consumes the queue's Consume stream
 * with 100 credits and starts each delivery at once) beside BullMQ add → worker start latency, both at the same steady rate
 * in the same run on the same Redis; then sustained end-to-end runs per second.
 *
 *   npx tsx bench/scheduler.ts [--rate 500] [--seconds 10] [--warmup 3] [--sustained 3000]
 *
 * Each system runs at the steady rate for --warmup seconds before the --seconds it is
 * measured over, as bench:queue does: what a fresh process does in its first seconds
 * at rate (optimising its hot code, opening pool connections) is shown apart.
 * The last line is `ratio: <taskmesh p99 / bullmq p99>`, over the measured seconds.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Queue, Worker } from "bullmq";
import pg from "pg";
import { type ConsumeRequestSchema, type Delivery, QueueService } from "../gen/taskmesh/queue/v1/queue_pb.js";
import {
	type AttemptStreamRequestSchema,
	type AttemptStreamResponse,
	type CompleteAttemptRequestSchema,
	type CompleteAttemptResponse,
	SchedulerService,
	type StartAttemptRequestSchema,
	type StartAttemptResponse,
	type TriggerRunRequestSchema,
	type TriggerStreamRequestSchema,
	type TriggerStreamResponse,
} from "../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { AsyncChannel } from "../sdk/src/worker/async-channel.js";
import { OrderedStreamClient } from "../services/kit/src/grpc/ordered-stream-client.js";
import { testClient } from "../services/kit/src/testing/grpc.js";
import { spawnServiceProcess } from "../services/kit/src/testing/process.js";

const { values } = parseArgs({
	options: {
		rate: { type: "string", default: "500" },
		seconds: { type: "string", default: "10" },
		warmup: { type: "string", default: "3" },
		sustained: { type: "string", default: "3000" },
		worker: { type: "string", default: "stream" },
		producer: { type: "string", default: "stream" },
	},
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const WARMUP_SECONDS = Number(values.warmup);
const SUSTAINED = Number(values.sustained);
/** How the worker starts and completes attempts: "stream" (one AttemptStream, as the SDK worker) or "unary". */
const WORKER_CALLS = values.worker === "unary" ? "unary" : "stream";
/** How the steady producer triggers, one run per request: "stream" (one TriggerStream) or "unary" (TriggerRun calls). */
const PRODUCER_CALLS = values.producer === "unary" ? "unary" : "stream";
/** Attempts the worker runs at once, as BullMQ's Worker concurrency. */
const CONCURRENCY = 100;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://127.0.0.1:5432/test";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** CPU time (user + system) a process used so far, in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
		const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
		return (Number(fields[11]) + Number(fields[12])) * 10;
	} catch {
		return 0; // gone, or not Linux
	}
}

/** Write-type system calls (write, writev, sendmsg...) a process made so far. */
function writeSyscalls(pid: number): number {
	try {
		return Number(/syscw: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? 0);
	} catch {
		return 0;
	}
}

/** What the scheduler, its PostgreSQL backends and the queue spent so far. */
async function costs(admin: pg.Client, schema: string, schedPid: number, queuePid: number) {
	const { rows } = await admin.query<{ pid: number }>(
		"SELECT pid FROM pg_stat_activity WHERE application_name = $1",
		[`taskmesh-${schema}`],
	);
	const backends = new Map(rows.map((r) => [r.pid, cpuMs(r.pid)]));
	const own = process.cpuUsage();
	return {
		sched: cpuMs(schedPid),
		schedWrites: writeSyscalls(schedPid),
		queue: cpuMs(queuePid),
		backends,
		bench: (own.user + own.system) / 1000,
	};
}

function percentile(sorted: number[], p: number): number {
	return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function summary(latencies: number[]) {
	const sorted = [...latencies].sort((a, b) => a - b);
	return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** Latencies by the wall time their run was sent, split into the warm-up and the measured window. */
class Samples {
	private readonly all: Array<{ sentAt: number; ms: number }> = [];
	private measuredFrom = Number.POSITIVE_INFINITY;

	get count(): number {
		return this.all.length;
	}

	add(sentAt: number, ms: number): void {
		this.all.push({ sentAt, ms });
	}

	clear(): void {
		this.all.length = 0;
	}

	/** Marks the start of a steady phase: what was sent in its first WARMUP_SECONDS is warm-up. */
	startSteady(at: number): void {
		this.measuredFrom = at + WARMUP_SECONDS * 1000;
	}

	measured() {
		return summary(this.all.filter((s) => s.sentAt >= this.measuredFrom).map((s) => s.ms));
	}

	warmUp() {
		return summary(this.all.filter((s) => s.sentAt < this.measuredFrom).map((s) => s.ms));
	}
}

/** Runs sent by one steady phase: the warm-up and the measured seconds. */
const STEADY_TOTAL = RATE * (WARMUP_SECONDS + SECONDS);

/** Calls `fire(i)` RATE times a second for WARMUP_SECONDS + SECONDS seconds, on a fixed schedule. */
async function steady(fire: (i: number) => void): Promise<void> {
	const total = STEADY_TOTAL;
	const start = performance.now();
	let sent = 0;
	while (sent < total) {
		const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE) + 1);
		while (sent < due) fire(sent++);
		await new Promise((r) => setTimeout(r, 2));
	}
}

async function bullmq(): Promise<Samples> {
	const url = new URL(REDIS_URL);
	const connection = { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
	const name = `bench-sched-${randomBytes(4).toString("hex")}`;
	const queue = new Queue(name, { connection });
	const latencies = new Samples();
	let finish: () => void = () => {};
	const finished = new Promise<void>((r) => {
		finish = r;
	});
	const worker = new Worker(
		name,
		async (job) => {
			const sentAt = (job.data as { t: number }).t;
			latencies.add(sentAt, Date.now() - sentAt);
			if (latencies.count === STEADY_TOTAL) finish();
		},
		{ connection, concurrency: 100 },
	);
	await worker.waitUntilReady();
	latencies.startSteady(Date.now());
	await steady(() => {
		void queue.add("run", { t: Date.now() }, { removeOnComplete: true, removeOnFail: true });
	});
	await finished;
	await worker.close();
	await queue.obliterate({ force: true });
	await queue.close();
	return latencies;
}

async function main() {
	const schema = `bench_sched_${randomBytes(4).toString("hex")}`;
	const queueProc = await spawnServiceProcess("services/queue/src/main.ts", {
		// Production mode, as deployed and as bench:queue runs it: no per-message lifecycle log line.
		env: {
			TASKMESH_ENV: "production",
			TASKMESH_QUEUE_PORT: "0",
			QUEUE_TELEMETRY: "false",
			GRPC_DRAIN_TIMEOUT_MS: "500",
		},
		expectedServices: 1,
	});
	const queueUrl = `http://127.0.0.1:${[...queueProc.ports.values()][0]}`;
	const schedProc = await spawnServiceProcess("services/scheduler/src/main.ts", {
		env: {
			TASKMESH_ENV: "production",
			TASKMESH_SCHEDULER_PORT: "0",
			TASKMESH_QUEUE_URL: queueUrl,
			SCHEDULER_DATABASE_SCHEMA: schema,
			DATABASE_POOL_SIZE: "20",
			GRPC_DRAIN_TIMEOUT_MS: "500",
			// e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the scheduler alone.
			...(process.env.SCHEDULER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.SCHEDULER_NODE_OPTIONS } : {}),
		},
		expectedServices: 1,
	});
	const schedUrl = `http://127.0.0.1:${[...schedProc.ports.values()][0]}`;
	const schedPid = schedProc.child.pid ?? 0;
	const queuePid = queueProc.child.pid ?? 0;
	const admin = await adminClient();
	const scheduler = testClient(SchedulerService, schedUrl);
	const queue = testClient(QueueService, queueUrl);
	const env = `bench_${randomBytes(4).toString("hex")}`;
	const workerId = `worker_${randomBytes(4).toString("hex")}`;
	await scheduler.registerWorker({
		environmentId: env,
		workerId,
		capacity: { cpu: 100_000, memoryGb: 100_000 },
		tasks: [{ id: "noop", machine: { kind: { case: "preset", value: "micro" } } }],
	});

	const heartbeat = setInterval(() => void scheduler.heartbeatWorker({ workerId }).catch(() => {}), 2_000);
	const latencies = new Samples();
	// Where the latency accrues: TriggerRun's own round trip, and sent -> delivered to the worker.
	const triggered = new Samples();
	const delivered = new Samples();
	let completed = 0;
	let refused = 0;
	// The worker as taskmesh's SDK worker consumes: one Consume stream with 100 credits
	// (BullMQ's side runs at concurrency 100), every delivery started at once and side
	// by side, a credit given back as each attempt ends.
	const requests = new AsyncChannel<MessageInitShape<typeof ConsumeRequestSchema>>();
	const stop = new AbortController();
	requests.push({
		kind: { case: "open", value: { consumerId: workerId, selectors: [{ environmentId: env }] } },
	});
	requests.push({ kind: { case: "credit", value: { credits: CONCURRENCY } } });
	const creditBack = () => requests.push({ kind: { case: "credit", value: { credits: 1 } } });
	const calls = attemptCalls(scheduler);
	const onDelivery = async (d: Delivery) => {
		const arrived = Date.now();
		// A redelivered message of a run already started is refused (and settled) by the scheduler.
		const started = await calls
			.start({ workerId, runId: d.message?.metadata?.runId ?? "", queueReceipt: d.receipt })
			.catch(() => undefined);
		if (started === undefined) {
			refused++;
			creditBack();
			return;
		}
		const sentAt = (JSON.parse(decoder.decode(started.run?.payload)) as { t: number }).t;
		latencies.add(sentAt, Date.now() - sentAt);
		delivered.add(sentAt, arrived - sentAt);
		await calls.complete({
			workerId,
			attemptId: started.attempt?.id ?? "",
			result: { case: "output", value: { output: encoder.encode("1") } },
		});
		completed++;
		creditBack();
	};
	const consuming = (async () => {
		try {
			for await (const response of queue.consume(requests, { signal: stop.signal })) {
				if (response.kind.case !== "deliveries") continue;
				for (const d of response.kind.value.deliveries) void onDelivery(d);
			}
		} catch (error) {
			if (!stop.signal.aborted) throw error;
		}
	})();

	const waitFor = async (n: number) => {
		while (completed < n) await new Promise((r) => setTimeout(r, 20));
	};
	// A first warm-up, one run at a time: connections and prepared plans.
	const trigger = triggerCall(scheduler);
	for (let i = 0; i < 200; i++)
		await trigger({
			environmentId: env,
			taskId: "noop",
			payload: encoder.encode(JSON.stringify({ t: Date.now() })),
		});
	await waitFor(200);
	latencies.clear();
	delivered.clear();

	const bullSamples = await bullmq();
	const bull = bullSamples.measured();
	const base = completed;
	for (const samples of [latencies, triggered, delivered]) samples.startSteady(Date.now());
	await steady(() => {
		const t = Date.now();
		void trigger({ environmentId: env, taskId: "noop", payload: encoder.encode(JSON.stringify({ t })) }).then(
			() => triggered.add(t, Date.now() - t),
		);
	});
	await waitFor(base + STEADY_TOTAL);
	const tm = latencies.measured();
	const stages = { triggered: triggered.measured(), delivered: delivered.measured() };
	const warmUp = { bull: bullSamples.warmUp(), tm: latencies.warmUp() };

	// Sustained: as many as 64 triggers in flight at once; runs per second from first trigger to last completion.
	const sustainedBase = completed;
	const before = await costs(admin, schema, schedPid, queuePid);
	const t0 = performance.now();
	let next = 0;
	await Promise.all(
		Array.from({ length: 64 }, async () => {
			while (next < SUSTAINED) {
				next++;
				await trigger({
					environmentId: env,
					taskId: "noop",
					payload: encoder.encode(JSON.stringify({ t: Date.now() })),
				});
			}
		}),
	);
	await waitFor(sustainedBase + SUSTAINED);
	const perSecond = SUSTAINED / ((performance.now() - t0) / 1000);
	const after = await costs(admin, schema, schedPid, queuePid);
	let backendMs = 0;
	for (const [pid, ms] of after.backends) backendMs += ms - (before.backends.get(pid) ?? 0);
	const perRun = (n: number) => ((n * 1000) / SUSTAINED).toFixed(0);

	requests.end();
	calls.close();
	trigger.close();
	const ended = setTimeout(() => stop.abort(), 5_000);
	await consuming;
	clearTimeout(ended);
	clearInterval(heartbeat);
	const ratio = `ratio: ${(tm.p99 / Math.max(1, bull.p99)).toFixed(2)}`;
	schedProc.child.kill("SIGTERM");
	queueProc.child.kill("SIGTERM");
	await Promise.all([schedProc.exited, queueProc.exited]);
	console.log(
		`steady ${RATE} runs/s for ${SECONDS} s after ${WARMUP_SECONDS} s at that rate; triggers: ${PRODUCER_CALLS}; the worker's starts and completions: ${WORKER_CALLS}`,
	);
	console.log(
		`warm-up seconds (not in the figures below): bullmq p50=${warmUp.bull.p50} p99=${warmUp.bull.p99} ms; taskmesh p50=${warmUp.tm.p50} p99=${warmUp.tm.p99} ms`,
	);
	console.log(`bullmq   add -> worker start      n=${bull.n} p50=${bull.p50} ms p99=${bull.p99} ms`);
	console.log(`taskmesh trigger -> StartAttempt  n=${tm.n} p50=${tm.p50} ms p99=${tm.p99} ms`);
	console.log(
		`  of which: TriggerRun returned p50=${stages.triggered.p50} p99=${stages.triggered.p99} ms; delivered to the worker p50=${stages.delivered.p50} p99=${stages.delivered.p99} ms`,
	);
	console.log(
		`taskmesh sustained trigger -> start -> complete: ${perSecond.toFixed(0)} runs/s (${SUSTAINED} runs)`,
	);
	console.log(
		`per sustained run: scheduler ${perRun(after.sched - before.sched)} µs CPU, ${((after.schedWrites - before.schedWrites) / SUSTAINED).toFixed(1)} write syscalls; its PostgreSQL backends ${perRun(backendMs)} µs CPU; queue ${perRun(after.queue - before.queue)} µs CPU; this process (client and worker) ${perRun(after.bench - before.bench)} µs CPU`,
	);
	console.log(`duplicate deliveries refused by StartAttempt: ${refused}`);
	await dropSchema(admin, schema).catch((error: unknown) =>
		console.error(`could not drop schema ${schema}: ${String(error)}`),
	);
	console.log(ratio);
}

type Scheduler = ReturnType<typeof testClient<typeof SchedulerService>>;

/**
 * The worker's StartAttempt and CompleteAttempt: over one AttemptStream (what the
 * SDK worker does) or as unary calls (--worker unary).
 */
function attemptCalls(scheduler: Scheduler) {
	if (WORKER_CALLS === "unary") {
		return {
			start: (request: MessageInitShape<typeof StartAttemptRequestSchema>) => scheduler.startAttempt(request),
			complete: (request: MessageInitShape<typeof CompleteAttemptRequestSchema>) =>
				scheduler.completeAttempt(request),
			close: () => {},
		};
	}
	const stream = new OrderedStreamClient<
		MessageInitShape<typeof AttemptStreamRequestSchema>,
		AttemptStreamResponse
	>((requests) => scheduler.attemptStream(requests));
	const answerOf = async (request: MessageInitShape<typeof AttemptStreamRequestSchema>) => {
		const answer = await stream.send(request);
		if (answer.kind.case === "error") throw new Error(answer.kind.value.message);
		return answer.kind.value;
	};
	return {
		start: async (request: MessageInitShape<typeof StartAttemptRequestSchema>) =>
			(await answerOf({ kind: { case: "start", value: request } })) as StartAttemptResponse,
		complete: async (request: MessageInitShape<typeof CompleteAttemptRequestSchema>) =>
			(await answerOf({ kind: { case: "complete", value: request } })) as CompleteAttemptResponse,
		close: () => stream.close(),
	};
}

/** One TriggerRun, on a TriggerStream (what a producer sending one run at a time uses) or unary (--producer unary). */
function triggerCall(scheduler: Scheduler) {
	if (PRODUCER_CALLS === "unary") {
		return Object.assign(
			(request: MessageInitShape<typeof TriggerRunRequestSchema>) => scheduler.triggerRun(request),
			{
				close: () => {},
			},
		);
	}
	const stream = new OrderedStreamClient<
		MessageInitShape<typeof TriggerStreamRequestSchema>,
		TriggerStreamResponse
	>((requests) => scheduler.triggerStream(requests));
	return Object.assign(
		async (request: MessageInitShape<typeof TriggerRunRequestSchema>) => {
			const answer = await stream.send({ run: request });
			if (answer.kind.case !== "triggered")
				throw new Error(answer.kind.case === "error" ? answer.kind.value.message : "no answer");
			return answer.kind.value;
		},
		{ close: () => stream.close() },
	);
}

async function adminClient(): Promise<pg.Client> {
	// An URL without a user leaves pg without one when USER is unset (as in containers).
	const url = new URL(DATABASE_URL);
	if (url.username === "") url.username = process.env.PGUSER || process.env.USER || "postgres";
	const admin = new pg.Client({ connectionString: url.toString() });
	await admin.connect();
	return admin;
}

async function dropSchema(admin: pg.Client, schema: string): Promise<void> {
	try {
		await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
	} finally {
		await admin.end();
	}
}

await main();
