/**
 * The taskmesh consumer of bench/queue.ts, in its own process as a deployed
 * worker runs (the same as the BullMQ Worker beside it): one Consume stream
 * (Connect client) with a window of credits, no-op handling, acknowledgements
 * batched on the stream (256 at once, or whatever is pending after 5 ms) with
 * the credits they free. Reports over IPC when it has acknowledged the
 * expected number of messages.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AckReason, type ConsumeRequestSchema, QueueService } from "../gen/taskmesh/queue/v1/queue_pb.js";
import { Pushable, preciseNow } from "./queue-pushable.js";

type Request = MessageInitShape<typeof ConsumeRequestSchema>;

const url = process.env.BENCH_URL ?? "http://127.0.0.1:50051";
const env = process.env.BENCH_ENV ?? "bench";
const expected = Number(process.env.BENCH_N ?? "0");
const window = Number(process.env.BENCH_WINDOW ?? "4000");
const latencyMode = process.env.BENCH_MODE === "latency";

const client = createClient(QueueService, createGrpcTransport({ baseUrl: url }));
const requests = new Pushable<Request>();
requests.push({
	kind: { case: "open", value: { consumerId: `bench-${env}`, selectors: [{ environmentId: env }] } },
});
requests.push({ kind: { case: "credit", value: { credits: window } } });

// Latency mode: [sentAt, latency] pairs, flattened.
const latencies: number[] = [];
let acknowledged = 0;
let reported = false;
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
		if (r.kind.case === "opened") {
			process.send?.({ ready: true });
		} else if (r.kind.case === "deliveries") {
			const now = preciseNow();
			for (const d of r.kind.value.deliveries) {
				if (latencyMode) {
					const p = d.message?.payload ?? new Uint8Array(8);
					const sentAt = new DataView(p.buffer, p.byteOffset, 8).getFloat64(0);
					latencies.push(sentAt, now - sentAt);
				}
				pending.push(d.receipt);
			}
			if (pending.length >= 256) flush();
			else timer ??= setTimeout(flush, 5);
		} else if (r.kind.case === "acknowledged") {
			acknowledged += r.kind.value.acknowledged;
			if (acknowledged >= expected && !reported) {
				reported = true;
				process.send?.({ done: preciseNow(), latencies });
			}
		}
	}
})();

process.on("message", async (m: { stop?: boolean }) => {
	if (m.stop) {
		flush();
		requests.end();
		await reading.catch(() => {});
		process.exit(0);
	}
});
