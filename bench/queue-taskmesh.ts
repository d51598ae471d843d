/** The taskmesh side of bench/queue.ts: the queue service in its own process, driven over gRPC. */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
	type ClientDuplexStream,
	credentials,
	makeGenericClientConstructor,
	type ServiceError,
} from "@grpc/grpc-js";
import {
	type EnqueueMessageSchema,
	type EnqueueRequestSchema,
	type EnqueueResponse,
	type EnqueueStreamRequestSchema,
	type EnqueueStreamResponse,
	QueueService,
} from "../gen/taskmesh/queue/v1/queue_pb.js";
import { OrderedStreamClient } from "../services/kit/src/grpc/ordered-stream-client.js";
import { grpcServiceDefinition } from "../services/kit/src/grpc/service-definition.js";
import { SPAWNED_SERVICE_ARGS, serviceNodeArgs } from "../services/kit/src/testing/process.js";
import { forkConsumer, type LatencySplit, preciseNow, splitAtWarmup } from "./queue-pushable.js";

/** A queue service process. */
export interface RunningQueueService {
	url: string;
	pid: number;
	namespace: string;
	/** Enqueue over a grpc-js client, the faster of the two for unary calls here. */
	enqueue: (request: MessageInitShape<typeof EnqueueRequestSchema>) => Promise<EnqueueResponse>;
	/** Opens an EnqueueStream on the same grpc-js client; each send resolves with its answer. */
	openEnqueueStream: () => EnqueueStreamProducer;
	stop(): Promise<void>;
}

function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.once("error", reject);
		server.listen(0, "127.0.0.1", () => {
			const address = server.address();
			server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
		});
	});
}

/** A producer on one EnqueueStream: answers come in the order requests were sent. */
export interface EnqueueStreamProducer {
	send: (request: MessageInitShape<typeof EnqueueStreamRequestSchema>) => Promise<EnqueueStreamResponse>;
	end: () => void;
}

/**
 * Starts `services/queue/src/main.ts` as `npm run start:queue` would, in
 * production mode (no per-message log lines). Telemetry on loads a real
 * metrics and tracing SDK; off turns the queue's counters and spans off.
 * `script` starts another server in its place (bench/queue-relay-server.ts).
 */
export async function startQueueService(
	telemetry: boolean,
	redisUrl: string,
	script = "services/queue/src/main.ts",
): Promise<RunningQueueService> {
	const port = await freePort();
	const namespace = `bench:queue:${randomBytes(4).toString("hex")}`;
	// SERVICE_NODE_ARGS passes node flags to the service (for example --cpu-prof), as it
	// does to every service the tests and the other benches spawn.
	const args = [...serviceNodeArgs(), ...SPAWNED_SERVICE_ARGS];
	if (telemetry) args.push("--import", "./bench/queue-telemetry-preload.ts");
	const child: ChildProcess = spawn(process.execPath, [...args, script], {
		env: {
			...process.env,
			TASKMESH_ENV: "production",
			LOG_LEVEL: "info",
			TASKMESH_HOST: "127.0.0.1",
			TASKMESH_QUEUE_PORT: String(port),
			REDIS_URL: redisUrl,
			OTEL_ENABLED: "false",
			QUEUE_TELEMETRY: telemetry ? "true" : "false",
			QUEUE_REDIS_NAMESPACE: namespace,
		},
		stdio: ["ignore", "pipe", "inherit"],
	});
	await new Promise<void>((resolve, reject) => {
		let seen = "";
		child.stdout?.on("data", (chunk: Buffer) => {
			seen += chunk.toString();
			if (seen.includes("gRPC server listening")) resolve();
		});
		child.once("exit", (code) => reject(new Error(`queue service exited with ${code} before listening`)));
	});
	// BENCH_QUEUE_SERVICE_OUTPUT appends the service's stdout (where --trace-gc and
	// --trace-deopt write) to a file; otherwise it is read and dropped.
	const output = process.env.BENCH_QUEUE_SERVICE_OUTPUT;
	if (output === undefined || output === "") child.stdout?.resume();
	else child.stdout?.pipe(createWriteStream(output, { flags: "a" }));
	const url = `http://127.0.0.1:${port}`;
	const GrpcClient = makeGenericClientConstructor(grpcServiceDefinition(QueueService), "QueueService");
	const grpcClient = new GrpcClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
		enqueue(
			request: unknown,
			callback: (error: ServiceError | null, response: EnqueueResponse) => void,
		): void;
		enqueueStream(): ClientDuplexStream<unknown, EnqueueStreamResponse>;
		close(): void;
	};
	return {
		url,
		pid: child.pid ?? 0,
		namespace,
		enqueue: (request) =>
			new Promise((resolve, reject) =>
				grpcClient.enqueue(request, (error, response) => (error ? reject(error) : resolve(response))),
			),
		openEnqueueStream() {
			// The kit's client for request-per-answer streams, over the grpc-js call.
			const producer = new OrderedStreamClient<
				MessageInitShape<typeof EnqueueStreamRequestSchema>,
				EnqueueStreamResponse
			>((requests) => {
				const call = grpcClient.enqueueStream();
				void (async () => {
					for await (const request of requests) call.write(request);
					call.end();
				})();
				return call;
			});
			return {
				send: async (request) => {
					const response = await producer.send(request);
					if (response.error !== undefined) throw new Error(response.error.message);
					return response;
				},
				end: () => producer.close(),
			};
		},
		async stop() {
			grpcClient.close();
			const exited = new Promise((resolve) => child.once("exit", resolve));
			child.kill("SIGTERM");
			await exited;
		},
	};
}

/** CPU seconds (user + system) a process has used so far; NaN where /proc is missing. */
export function cpuSecondsOf(pid: number): number {
	try {
		const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return Number.NaN;
	}
}

function messages(env: string, from: number, count: number, payload: (i: number) => Uint8Array) {
	return Array.from(
		{ length: count },
		(_, k): MessageInitShape<typeof EnqueueMessageSchema> => ({
			id: `m${from + k}`,
			environmentId: env,
			queue: "bench",
			payload: payload(from + k),
		}),
	);
}

/**
 * Starts bench/queue-taskmesh-consumer.ts in its own process (as workers are
 * deployed, and as the BullMQ Worker runs) and waits until its stream is open.
 */
function startConsumer(url: string, env: string, n: number, window: number, mode: string) {
	return forkConsumer("./bench/queue-taskmesh-consumer.ts", "taskmesh consumer", {
		BENCH_URL: url,
		BENCH_ENV: env,
		BENCH_N: String(n),
		BENCH_WINDOW: String(window),
		BENCH_MODE: mode,
	});
}

/** Ms from the first enqueue to the last acknowledgement of n messages (batched Enqueue, one Consume). */
export async function taskmeshThroughput(service: RunningQueueService, n: number): Promise<number> {
	const env = `tput-${randomBytes(3).toString("hex")}`;
	const payload = new Uint8Array(16);
	const c = await startConsumer(service.url, env, n, 4000, "throughput");
	const started = preciseNow();
	// Two Enqueue calls in flight keep the producer ahead without flooding the server.
	let next = 0;
	const produce = async () => {
		while (next < n) {
			const from = next;
			const count = Math.min(1000, n - from);
			next += count;
			await service.enqueue({ messages: messages(env, from, count, () => payload) });
		}
	};
	await Promise.all([produce(), produce(), produce()]);
	const { done } = await c.done;
	await c.stop();
	return done - started;
}

/** How the latency producer sends its messages, one at a time. */
export type LatencyProducer = "stream" | "unary";

/**
 * Enqueue-to-delivery latencies (ms) at a steady rate, one message per request:
 * each on an EnqueueStream ("stream", the producer API for messages sent one at a
 * time) or each its own Enqueue call ("unary"). `warmupSeconds` first, then
 * `seconds` of steady state.
 */
export async function taskmeshLatency(
	service: RunningQueueService,
	rate: number,
	seconds: number,
	warmupSeconds: number,
	producer: LatencyProducer,
): Promise<LatencySplit> {
	const env = `lat-${randomBytes(3).toString("hex")}`;
	const total = rate * (warmupSeconds + seconds);
	const c = await startConsumer(service.url, env, total, 200, "latency");
	const stream = producer === "stream" ? service.openEnqueueStream() : undefined;
	const send = (request: { messages: ReturnType<typeof messages> }) =>
		stream === undefined ? service.enqueue(request) : stream.send(request);
	const started = preciseNow();
	const sends: Array<Promise<unknown>> = [];
	let sent = 0;
	while (sent < total) {
		const due = Math.min(total, Math.floor(((preciseNow() - started) * rate) / 1000));
		for (; sent < due; sent++) {
			const body = new Uint8Array(16);
			new DataView(body.buffer).setFloat64(0, preciseNow());
			sends.push(send({ messages: messages(env, sent, 1, () => body) }));
		}
		await sleep(1);
	}
	await Promise.all(sends);
	stream?.end();
	const { latencies } = await c.done;
	await c.stop();
	return splitAtWarmup(latencies, started, warmupSeconds * 1000);
}
