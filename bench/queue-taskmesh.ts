/** The taskmesh side of bench/queue.ts: the queue service in its own process, driven over gRPC. */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import {
	AckReason,
	type ConsumeRequestSchema,
	type EnqueueMessageSchema,
	type EnqueueRequestSchema,
	type EnqueueResponse,
	QueueService,
} from "../gen/taskmesh/queue/v1/queue_pb.js";
import { grpcServiceDefinition } from "../services/kit/src/grpc/service-definition.js";
import { Pushable, preciseNow } from "./queue-pushable.js";

type Request = MessageInitShape<typeof ConsumeRequestSchema>;

/** A queue service process. */
export interface RunningQueueService {
	url: string;
	pid: number;
	namespace: string;
	/** A Connect client, for the Consume stream (it stays steady on long streams). */
	client: Client<typeof QueueService>;
	/** Enqueue over a grpc-js client, the faster of the two for unary calls here. */
	enqueue: (request: MessageInitShape<typeof EnqueueRequestSchema>) => Promise<EnqueueResponse>;
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

/**
 * Starts `services/queue/src/main.ts` as `npm run start:queue` would, in
 * production mode (no per-message log lines). Telemetry on loads a real
 * metrics and tracing SDK; off turns the queue's counters and spans off.
 */
export async function startQueueService(telemetry: boolean, redisUrl: string): Promise<RunningQueueService> {
	const port = await freePort();
	const namespace = `bench:queue:${randomBytes(4).toString("hex")}`;
	// BENCH_QUEUE_NODE_ARGS passes extra node flags to the service (for example --cpu-prof).
	const args = [...(process.env.BENCH_QUEUE_NODE_ARGS ?? "").split(" ").filter(Boolean), "--import", "tsx"];
	if (telemetry) args.push("--import", "./bench/queue-telemetry-preload.ts");
	const child: ChildProcess = spawn(process.execPath, [...args, "services/queue/src/main.ts"], {
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
	child.stdout?.resume();
	const url = `http://127.0.0.1:${port}`;
	const client = createClient(QueueService, createGrpcTransport({ baseUrl: url }));
	const GrpcClient = makeGenericClientConstructor(grpcServiceDefinition(QueueService), "QueueService");
	const grpcClient = new GrpcClient(`127.0.0.1:${port}`, credentials.createInsecure()) as unknown as {
		enqueue(
			request: unknown,
			callback: (error: ServiceError | null, response: EnqueueResponse) => void,
		): void;
		close(): void;
	};
	return {
		url,
		pid: child.pid ?? 0,
		namespace,
		client,
		enqueue: (request) =>
			new Promise((resolve, reject) =>
				grpcClient.enqueue(request, (error, response) => (error ? reject(error) : resolve(response))),
			),
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

/** A Consume stream that acknowledges each batch at once and gives the credits back. */
function consumer(
	client: Client<typeof QueueService>,
	env: string,
	window: number,
	onDelivery: (payload: Uint8Array) => void,
) {
	const requests = new Pushable<Request>();
	requests.push({
		kind: { case: "open", value: { consumerId: `bench-${env}`, selectors: [{ environmentId: env }] } },
	});
	requests.push({ kind: { case: "credit", value: { credits: window } } });
	let acknowledged = 0;
	let target = Number.POSITIVE_INFINITY;
	let finish: (at: number) => void = () => {};
	const finished = new Promise<number>((resolve) => {
		finish = resolve;
	});
	// Acknowledgements are batched: a full batch goes at once, a partial one after 5 ms,
	// each with the credits it frees (fewer stream messages at low rates).
	let pending: string[] = [];
	let timer: NodeJS.Timeout | undefined;
	const flush = () => {
		if (timer !== undefined) clearTimeout(timer);
		timer = undefined;
		if (pending.length === 0) return;
		const receipts = pending;
		pending = [];
		requests.push({
			kind: {
				case: "acknowledge",
				value: { acknowledgements: receipts.map((receipt) => ({ receipt, reason: AckReason.COMPLETED })) },
			},
		});
		requests.push({ kind: { case: "credit", value: { credits: receipts.length } } });
	};
	const reading = (async () => {
		for await (const r of client.consume(requests)) {
			if (r.kind.case === "deliveries") {
				for (const d of r.kind.value.deliveries) {
					onDelivery(d.message?.payload ?? new Uint8Array());
					pending.push(d.receipt);
				}
				if (pending.length >= 256) flush();
				else timer ??= setTimeout(flush, 5);
			} else if (r.kind.case === "acknowledged") {
				acknowledged += r.kind.value.acknowledged;
				if (acknowledged >= target) finish(preciseNow());
			}
		}
	})();
	return {
		until(n: number) {
			target = n;
			if (acknowledged >= target) finish(preciseNow());
			return finished;
		},
		async close() {
			flush();
			requests.end();
			await reading.catch(() => {});
		},
	};
}

/** Ms from the first enqueue to the last acknowledgement of n messages (batched Enqueue, one Consume). */
export async function taskmeshThroughput(service: RunningQueueService, n: number): Promise<number> {
	const env = `tput-${randomBytes(3).toString("hex")}`;
	const payload = new Uint8Array(16);
	const c = consumer(service.client, env, 4000, () => {});
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
	const ended = await c.until(n);
	await c.close();
	return ended - started;
}

/** Enqueue-to-delivery latencies (ms) at a steady rate, one message per Enqueue call. */
export async function taskmeshLatency(
	service: RunningQueueService,
	rate: number,
	seconds: number,
): Promise<number[]> {
	const env = `lat-${randomBytes(3).toString("hex")}`;
	const latencies: number[] = [];
	const c = consumer(service.client, env, 200, (p) => {
		latencies.push(preciseNow() - new DataView(p.buffer, p.byteOffset, 8).getFloat64(0));
	});
	const total = rate * seconds;
	const started = preciseNow();
	const sends: Array<Promise<unknown>> = [];
	let sent = 0;
	while (sent < total) {
		const due = Math.min(total, Math.floor(((preciseNow() - started) * rate) / 1000));
		for (; sent < due; sent++) {
			const body = new Uint8Array(16);
			new DataView(body.buffer).setFloat64(0, preciseNow());
			sends.push(service.enqueue({ messages: messages(env, sent, 1, () => body) }));
		}
		await sleep(1);
	}
	await Promise.all(sends);
	await c.until(total);
	await c.close();
	return latencies;
}
