import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	credentials,
	status as GrpcStatus,
	Client as RawClient,
	type ServiceError as RawError,
} from "@grpc/grpc-js";
import { LogChunkSchema, LogIngestService, LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import { startTestServer, testClient } from "../testing/grpc.js";
import { registration } from "./implementation.js";
import { orderedAnswers } from "./ordered-answers.js";
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
				// Answers each request by its first message's id: "nul" as PostgreSQL refuses a
				// NUL in text, "boom" as a store failing; any other id is enqueued.
				enqueueStream(requests, ctx) {
					return orderedAnswers(
						requests,
						ctx,
						async (request, sequence) => {
							const id = request.messages[0]?.id ?? "";
							if (id === "nul")
								throw Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), {
									code: "22021",
								});
							if (id === "boom") throw new Error("the store went away");
							return { sequence, results: [{ id }] };
						},
						(sequence, error) => ({ sequence, results: [], error }),
					);
				},
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
	test("a request whose bytes are no message of its type is INVALID_ARGUMENT, unary and on a stream", async () => {
		// A string field (run_id, 1) holding bytes that are not UTF-8, and a field cut short.
		const notUtf8 = Buffer.from([0x0a, 0x02, 0xff, 0xfe]);
		const truncated = Buffer.from([0x0a, 0x09, 0x61]);
		const raw = new RawClient(new URL(host.url).host, credentials.createInsecure());
		const same = (b: Buffer) => b;
		try {
			for (const bytes of [notUtf8, truncated]) {
				const error = await new Promise<RawError>((resolve, reject) => {
					raw.makeUnaryRequest("/taskmesh.logs.v1.LogIngestService/Query", same, same, bytes, (e) =>
						e === null ? reject(new Error("accepted")) : resolve(e),
					);
				});
				assert.equal(error.code, GrpcStatus.INVALID_ARGUMENT, error.details);
				assert.match(error.details, /^request: the bytes are not a valid taskmesh\.logs\.v1\.QueryRequest: /);
			}
			const streamError = await new Promise<RawError>((resolve, reject) => {
				const call = raw.makeClientStreamRequest(
					"/taskmesh.logs.v1.LogIngestService/Ingest",
					same,
					same,
					(e: RawError | null) => (e === null ? reject(new Error("accepted")) : resolve(e)),
				);
				call.write(Buffer.alloc(0));
				call.write(Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0xff, 0xfe]));
			});
			assert.equal(streamError.code, GrpcStatus.INVALID_ARGUMENT, streamError.details);
			assert.match(streamError.details, /taskmesh\.logs\.v1\.IngestRequest/);
		} finally {
			raw.close();
		}
		// The server goes on serving.
		const response = await testClient(LogIngestService, host.url).query({ runId: "after", text: "ok" });
		assert.equal(response.records[0]?.runId, "after");
	});
	test("an ordered stream answers a store's refusal of a NUL in-band and goes on; a store failure ends it", async () => {
		const client = testClient(QueueService, host.url);
		const send = (ids: string[]) =>
			(async function* () {
				for (const id of ids) yield { messages: [{ id }] };
			})();
		const answers: string[] = [];
		for await (const r of client.enqueueStream(send(["a", "nul", "b"]))) {
			answers.push(
				r.error === undefined ? `ok:${r.results[0]?.id}` : `refused:${r.error.code}:${r.error.message}`,
			);
		}
		assert.deepEqual(answers, [
			"ok:a",
			`refused:${Code.InvalidArgument}:a text field holds a NUL character (U+0000), which cannot be stored; remove it`,
			"ok:b",
		]);
		await assert.rejects(
			(async () => {
				for await (const _ of client.enqueueStream(send(["c", "boom", "d"]))) {
				}
			})(),
			(e: unknown) => ConnectError.from(e).code === Code.Internal,
		);
	});
});
