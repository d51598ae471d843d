import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { LogChunkSchema, LogIngestService, LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { startTestServer, testClient } from "../testing/grpc.js";
import { registration } from "./implementation.js";
import type { GrpcServiceHost } from "./server.js";

// Test implementations of real contract methods, one per streaming kind, that
// echo what they receive so the assertions see the data round-trip.
describe("the descriptor adapter serves every streaming kind", () => {
	let host: GrpcServiceHost;
	// Signals of finished and cancelled query calls, by run id, for the cancellation tests.
	const signals = new Map<string, AbortSignal>();

	before(async () => {
		host = await startTestServer([
			registration(LogIngestService, {
				async ingest(requests) {
					let chunks = 0;
					let bytes = 0;
					for await (const request of requests) {
						chunks += request.chunks.length;
						for (const chunk of request.chunks) bytes += chunk.data.length;
					}
					return { messagesAccepted: BigInt(chunks), bytesAccepted: BigInt(bytes) };
				},
				async *tail(request) {
					for (let i = 0; i < 3; i++) {
						yield { records: [{ runId: request.runId, messageId: `m${i}`, level: LogLevel.INFO }] };
					}
				},
				async query(request, ctx) {
					signals.set(request.runId, ctx.signal);
					if (request.runId.startsWith("hang")) {
						await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
					}
					return { records: [{ runId: request.runId, body: new TextEncoder().encode(request.text) }] };
				},
			}),
			registration(QueueService, {
				async *consume(requests) {
					for await (const request of requests) {
						if (request.kind.case === "open") {
							yield { kind: { case: "opened", value: { consumerId: request.kind.value.consumerId } } };
						} else if (request.kind.case === "credit") {
							const deliveries = Array.from({ length: request.kind.value.credits }, (_, i) => ({
								receipt: `r${i}`,
							}));
							yield { kind: { case: "deliveries", value: { deliveries } } };
						}
					}
				},
			}),
		]);
	});
	after(() => host.forceStop());

	test("unary: the request reaches the handler and the response the client", async () => {
		const client = testClient(LogIngestService, host.url);
		const response = await client.query({ runId: "run_1", text: "needle" });
		assert.equal(response.records[0]?.runId, "run_1");
		assert.equal(new TextDecoder().decode(response.records[0]?.body), "needle");
	});

	test("a cancelled call aborts its handler's signal with CANCELLED; a finished one never does", async () => {
		const client = testClient(LogIngestService, host.url);
		await client.query({ runId: "done_1", text: "x" });
		const caller = new AbortController();
		const hanging = client.query({ runId: "hang_1", text: "x" }, { signal: caller.signal });
		while (!signals.has("hang_1")) await new Promise((r) => setTimeout(r, 5));
		caller.abort();
		await assert.rejects(hanging);
		const cancelled = signals.get("hang_1") as AbortSignal;
		for (let i = 0; i < 100 && !cancelled.aborted; i++) await new Promise((r) => setTimeout(r, 10));
		assert.equal(cancelled.aborted, true);
		assert.equal((cancelled.reason as { code?: string }).code, "CANCELLED");
		// The finished call's stream has long closed by now.
		assert.equal(signals.get("done_1")?.aborted, false);
	});

	test("server streaming: every message arrives in order", async () => {
		const client = testClient(LogIngestService, host.url);
		const ids: string[] = [];
		for await (const response of client.tail({ runId: "run_2" })) {
			ids.push(...response.records.map((r) => `${r.runId}/${r.messageId}`));
		}
		assert.deepEqual(ids, ["run_2/m0", "run_2/m1", "run_2/m2"]);
	});

	test("client streaming: the handler sees every message before answering", async () => {
		const client = testClient(LogIngestService, host.url);
		async function* frames() {
			for (let i = 0; i < 50; i++) {
				yield {
					chunks: [
						create(LogChunkSchema, { messageId: `m${i}`, runId: "r", data: new Uint8Array(10) }),
						create(LogChunkSchema, { messageId: `n${i}`, runId: "r", data: new Uint8Array(5) }),
					],
				};
			}
		}
		const summary = await client.ingest(frames());
		assert.equal(summary.messagesAccepted, 100n);
		assert.equal(summary.bytesAccepted, 750n);
	});

	test("bidirectional streaming: answers follow requests on one stream", async () => {
		const client = testClient(QueueService, host.url);
		let push: (() => void) | undefined;
		async function* outgoing() {
			yield { kind: { case: "open" as const, value: { consumerId: "c1" } } };
			await new Promise<void>((resolve) => {
				push = resolve;
			});
			yield { kind: { case: "credit" as const, value: { credits: 4 } } };
		}
		const seen: string[] = [];
		for await (const response of client.consume(outgoing())) {
			if (response.kind.case === "opened") {
				seen.push(`opened:${response.kind.value.consumerId}`);
				push?.();
			} else if (response.kind.case === "deliveries") {
				seen.push(`deliveries:${response.kind.value.deliveries.length}`);
			}
		}
		assert.deepEqual(seen, ["opened:c1", "deliveries:4"]);
	});
});
