import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { metrics } from "@opentelemetry/api";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { pino } from "pino";
import { BadRequestSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import {
	AckReason,
	type ConsumeRequest,
	ConsumeRequestSchema,
	type ConsumeResponse,
	type Delivery,
	type EnqueueMessageSchema,
	type EnqueueStreamRequest,
	EnqueueStreamRequestSchema,
	type EnqueueStreamResponse,
	QueueService,
	SettleStreamRequestSchema,
} from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import {
	AsyncChannel,
	createRedisClient,
	type GrpcServiceHost,
	MAX_UNANSWERED,
	type RedisClient,
} from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { randomSuffix, testStores } from "../../../kit/src/testing/stores.js";
import type { QueueCore } from "../core/queue-core.js";
import { ManualClock } from "../core/testing-fixture.js";
import { loadQueueConfig } from "../queue-config.js";
import { queueCoreFrom } from "../queue-module.js";
import { queueServiceRegistration } from "./queue-service.js";

/** Collects metrics on demand. */
class TestMetricReader extends MetricReader {
	protected override async onForceFlush(): Promise<void> {}
	protected override async onShutdown(): Promise<void> {}
}

describe("QueueService over gRPC", () => {
	const namespace = `test:queue-rpc:${randomSuffix()}`;
	const reader = new TestMetricReader();
	const meterProvider = new MeterProvider({ readers: [reader] });
	const lines: Array<Record<string, unknown>> = [];
	const clock = new ManualClock(Date.now());
	let redis: RedisClient;
	let core: QueueCore;
	let host: GrpcServiceHost;
	let client: ReturnType<typeof testClient<typeof QueueService>>;

	before(async () => {
		metrics.setGlobalMeterProvider(meterProvider);
		redis = createRedisClient({ url: (await testStores()).redisUrl });
		const sink = new Writable({
			write(chunk, _encoding, done) {
				for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
				done();
			},
		});
		// The safety-net recheck is set to a minute, so streams that get their messages
		// in these tests got them from a wake-up, not from a recheck.
		const config = loadQueueConfig({
			QUEUE_MAX_PAYLOAD_BYTES: "1024",
			QUEUE_DEFAULT_MAX_NACKS: "2",
			QUEUE_IDLE_RECHECK_MS: "60000",
		});
		core = queueCoreFrom({
			platform: { TASKMESH_ENV: "development" },
			config,
			redis,
			logger: pino({ level: "info" }, sink),
			clock,
			namespace,
			sweepEveryMs: 0,
		});
		host = await startTestServer([queueServiceRegistration({ core, config })]);
		client = testClient(QueueService, host.url);
	});

	after(async () => {
		host.forceStop();
		await core.close();
		const keys = await redis.keys(`${namespace}*`);
		if (keys.length > 0) await redis.del(...keys);
		await redis.quit();
		await meterProvider.shutdown();
		metrics.disable();
	});

	const msg = (
		env: string,
		id: string,
		fields: Omit<MessageInitShape<typeof EnqueueMessageSchema>, "$typeName"> = {},
	): MessageInitShape<typeof EnqueueMessageSchema> => ({
		id,
		environmentId: env,
		queue: "q",
		payload: new TextEncoder().encode(`payload ${id}`),
		metadata: { runId: `run_${id}`, taskId: "task_a", attempt: 1 },
		...fields,
	});

	const dequeue = (env: string, max: number, consumerId = "w1") =>
		client.dequeue({ consumerId, selectors: [{ environmentId: env }], maxMessages: max });

	const keyCount = async () => (await redis.keys(`${namespace}*`)).length;

	async function rejects(call: Promise<unknown>, code: Code, pattern: RegExp): Promise<ConnectError> {
		try {
			await call;
		} catch (error) {
			const e = ConnectError.from(error);
			assert.equal(e.code, code, e.message);
			assert.match(e.rawMessage, pattern);
			return e;
		}
		assert.fail("the call succeeded");
	}

	test("a message goes from enqueue through delivery to acknowledgement", async () => {
		const env = "roundtrip";
		const enq = await client.enqueue({
			messages: [
				msg(env, "m1", {
					priority: 3,
					concurrencyKey: "tenant-1",
					metadata: { runId: "run_1", taskId: "t", attempt: 2, labels: { team: "a\u001fb", "x.y": "{}" } },
				}),
			],
		});
		assert.deepEqual(
			enq.results.map((r) => [r.id, r.duplicate]),
			[["m1", false]],
		);
		const { deliveries } = await dequeue(env, 10);
		assert.equal(deliveries.length, 1);
		const d = deliveries[0] as Delivery;
		assert.equal(new TextDecoder().decode(d.message?.payload), "payload m1");
		assert.equal(d.message?.metadata?.runId, "run_1");
		assert.equal(d.message?.metadata?.attempt, 2);
		assert.equal(d.message?.priority, 3);
		assert.deepEqual(d.message?.metadata?.labels, { team: "a\u001fb", "x.y": "{}" });
		assert.equal(d.message?.concurrencyKey, "tenant-1");
		assert.equal(d.deliveryCount, 1);
		const ack = await client.acknowledge({
			consumerId: "w1",
			acknowledgements: [{ receipt: d.receipt, reason: AckReason.COMPLETED }],
		});
		assert.equal(ack.acknowledged, 1);
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.equal(queue?.stats?.inFlight, 0n);
		assert.deepEqual(
			queue?.stats?.acknowledgements.map((a) => [a.reason, a.count]),
			[[AckReason.COMPLETED, 1n]],
		);
	});

	test("bad enqueue input fails whole with INVALID_ARGUMENT naming the field and limit, and stores nothing", async () => {
		const env = "badinput";
		const before = await keyCount();
		const oversize = await rejects(
			client.enqueue({
				messages: [msg(env, "ok"), msg(env, "big", { payload: new Uint8Array(2048) })],
			}),
			Code.InvalidArgument,
			/messages\[1\]\.payload: 2048 bytes is over the limit of 1024 bytes \(QUEUE_MAX_PAYLOAD_BYTES\)/,
		);
		const details = oversize.findDetails(BadRequestSchema);
		assert.equal(details[0]?.fieldViolations[0]?.field, "messages[1].payload");
		await rejects(
			client.enqueue({ messages: [msg(env, "e", { payload: new Uint8Array() })] }),
			Code.InvalidArgument,
			/payload: must not be empty/,
		);
		await rejects(
			client.enqueue({ messages: [msg(env, "n", { queue: "bad name!" })] }),
			Code.InvalidArgument,
			/messages\[0\]\.queue/,
		);
		await rejects(
			client.enqueue({ messages: [msg(env, "n", { queue: "q".repeat(129) })] }),
			Code.InvalidArgument,
			/129 characters/,
		);
		await rejects(
			client.enqueue({
				messages: [msg(env, "d", { availability: { case: "delay", value: durationFromMs(-5) } })],
			}),
			Code.InvalidArgument,
			/delay: -5 ms is negative/,
		);
		await rejects(
			client.enqueue({ messages: Array.from({ length: 1001 }, (_, i) => msg(env, `x${i}`)) }),
			Code.InvalidArgument,
			/1001 items is over the limit of 1000/,
		);
		assert.equal(await keyCount(), before);
	});

	async function* requestsOf(...batches: Array<Array<MessageInitShape<typeof EnqueueMessageSchema>>>) {
		for (const messages of batches) yield create(EnqueueStreamRequestSchema, { messages });
	}

	const answersOf = async (stream: AsyncIterable<EnqueueStreamResponse>) => {
		const answers: EnqueueStreamResponse[] = [];
		for await (const answer of stream) answers.push(answer);
		return answers;
	};

	test("an EnqueueStream answers each request in order, flags duplicates, and its messages are delivered", async () => {
		const env = "enqstream";
		const answers = await answersOf(
			client.enqueueStream(requestsOf([msg(env, "a"), msg(env, "b")], [msg(env, "c")], [msg(env, "a")])),
		);
		assert.deepEqual(
			answers.map((a) => [a.sequence, a.results.map((r) => [r.id, r.duplicate]), a.error]),
			[
				[
					0n,
					[
						["a", false],
						["b", false],
					],
					undefined,
				],
				[1n, [["c", false]], undefined],
				[2n, [["a", true]], undefined],
			],
		);
		const { deliveries } = await dequeue(env, 10);
		assert.deepEqual(deliveries.map((d) => d.message?.id).sort(), ["a", "b", "c"]);
		assert.equal(new TextDecoder().decode(deliveries[0]?.message?.payload).startsWith("payload "), true);
	});

	test("an EnqueueStream request with duplicates_only is answered with its duplicates alone, and every message is stored", async () => {
		const env = "enqstream-dups";
		async function* requests() {
			yield create(EnqueueStreamRequestSchema, {
				messages: [msg(env, "a"), msg(env, "b")],
				duplicatesOnly: true,
			});
			yield create(EnqueueStreamRequestSchema, {
				messages: [msg(env, "c"), msg(env, "a"), msg(env, "d"), msg(env, "b")],
				duplicatesOnly: true,
			});
			yield create(EnqueueStreamRequestSchema, { messages: [msg(env, "c"), msg(env, "e")] });
		}
		const answers = await answersOf(client.enqueueStream(requests()));
		assert.deepEqual(
			answers.map((a) => [a.sequence, a.results.map((r) => [r.id, r.duplicate])]),
			[
				[0n, []],
				[
					1n,
					[
						["a", true],
						["b", true],
					],
				],
				[
					2n,
					[
						["c", true],
						["e", false],
					],
				],
			],
		);
		const { deliveries } = await dequeue(env, 10);
		assert.deepEqual(deliveries.map((d) => d.message?.id).sort(), ["a", "b", "c", "d", "e"]);
	});

	test("a refused request on an EnqueueStream is answered with its status, stores nothing, and the stream goes on", async () => {
		const env = "enqstream-bad";
		const answers = await answersOf(
			client.enqueueStream(
				requestsOf(
					[msg(env, "ok1")],
					[msg(env, "fine"), msg(env, "big", { payload: new Uint8Array(2048) })],
					[msg(env, "ok2")],
				),
			),
		);
		assert.deepEqual(
			answers.map((a) => [a.sequence, a.results.map((r) => r.id)]),
			[
				[0n, ["ok1"]],
				[1n, []],
				[2n, ["ok2"]],
			],
		);
		const refused = answers[1]?.error;
		assert.equal(refused?.code, Code.InvalidArgument);
		assert.match(
			refused?.message ?? "",
			/messages\[1\]\.payload: 2048 bytes is over the limit of 1024 bytes \(QUEUE_MAX_PAYLOAD_BYTES\)/,
		);
		const badRequest = refused?.details.find((d) => d.typeUrl.endsWith("google.rpc.BadRequest"));
		assert.equal(
			badRequest && fromBinary(BadRequestSchema, badRequest.value).fieldViolations[0]?.field,
			"messages[1].payload",
		);
		const { deliveries } = await dequeue(env, 10);
		assert.deepEqual(deliveries.map((d) => d.message?.id).sort(), ["ok1", "ok2"]);
	});

	test("an EnqueueStream with more requests in flight than it reads ahead answers every one, in order", async () => {
		const env = "enqstream-many";
		const count = 3 * MAX_UNANSWERED + 7;
		const answers = await answersOf(
			client.enqueueStream(requestsOf(...Array.from({ length: count }, (_, i) => [msg(env, `m${i}`)]))),
		);
		assert.deepEqual(
			answers.map((a) => `${a.sequence}:${a.results[0]?.id}`),
			Array.from({ length: count }, (_, i) => `${i}:m${i}`),
		);
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.equal(queue?.stats?.depth, BigInt(count));
	});

	test("a draining server ends an EnqueueStream cleanly after what it read, without waiting out the drain", async () => {
		const env = "enqstream-drain";
		const draining = await startTestServer(
			[queueServiceRegistration({ core, config: loadQueueConfig({}) })],
			{
				drainTimeoutMs: 20_000,
			},
		);
		const requests = new AsyncChannel<EnqueueStreamRequest>(16);
		const answers = testClient(QueueService, draining.url).enqueueStream(requests)[Symbol.asyncIterator]();
		await requests.push(create(EnqueueStreamRequestSchema, { messages: [msg(env, "before")] }));
		assert.equal((await answers.next()).value?.results[0]?.id, "before");
		const started = Date.now();
		const drain = draining.drain();
		// The stream ends with OK (no error thrown), long before the drain's 20 s timeout.
		assert.equal((await answers.next()).done, true);
		await drain;
		assert.ok(Date.now() - started < 5_000, `the drain took ${Date.now() - started} ms`);
		requests.close();
		const { deliveries } = await dequeue(env, 10);
		assert.deepEqual(
			deliveries.map((d) => d.message?.id),
			["before"],
		);
	});

	test("single-item settle failures are the call's status; in a batch they are listed", async () => {
		const env = "settle";
		await client.enqueue({ messages: [msg(env, "a"), msg(env, "b")] });
		const { deliveries } = await dequeue(env, 2);
		const [a, b] = deliveries as [Delivery, Delivery];
		const ack = (consumerId: string, receipt: string) =>
			client.acknowledge({ consumerId, acknowledgements: [{ receipt, reason: AckReason.COMPLETED }] });
		await rejects(ack("w1", "bm90LWEtcmVjZWlwdA"), Code.NotFound, /not a receipt/);
		await rejects(ack("w2", a.receipt), Code.FailedPrecondition, /another consumer/);
		await ack("w1", a.receipt);
		await rejects(ack("w1", a.receipt), Code.FailedPrecondition, /already acknowledged/);
		await rejects(
			client.acknowledge({ consumerId: "w1", acknowledgements: [{ receipt: b.receipt }] }),
			Code.InvalidArgument,
			/reason: must not be ACK_REASON_UNSPECIFIED/,
		);
		const batch = await client.acknowledge({
			consumerId: "w1",
			acknowledgements: [
				{ receipt: a.receipt, reason: AckReason.COMPLETED },
				{ receipt: b.receipt, reason: AckReason.CANCELED },
			],
		});
		assert.equal(batch.acknowledged, 1);
		assert.deepEqual(
			batch.failures.map((f) => [f.index, f.id, f.code]),
			[[0, "a", Code.FailedPrecondition]],
		);
	});

	test("a receipt with anything past its own grammar settles nothing and leaves the queue's counts readable", async () => {
		const env = "forged";
		await client.enqueue({ messages: [msg(env, "a")] });
		const [a] = (await dequeue(env, 1)).deliveries as [Delivery];
		// The scripts join fields with \x1f: this suffix once became the counted reason.
		for (const receipt of [`${a.receipt}\x1fjunk`, `${a.receipt}\x1f0`]) {
			await rejects(
				client.acknowledge({
					consumerId: "w1",
					acknowledgements: [{ receipt, reason: AckReason.COMPLETED }],
				}),
				Code.NotFound,
				/not a receipt this queue issued/,
			);
		}
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.equal(queue?.stats?.inFlight, 1n);
		assert.deepEqual(queue?.stats?.acknowledgements, []);
		await client.acknowledge({
			consumerId: "w1",
			acknowledgements: [{ receipt: a.receipt, reason: AckReason.COMPLETED }],
		});
		const listed = await client.listQueues({ environmentId: env });
		assert.deepEqual(
			listed.queues[0]?.stats?.acknowledgements.map((c) => [c.reason, c.count]),
			[[AckReason.COMPLETED, 1n]],
		);
	});

	test("settle and enqueue times are checked: a repeated receipt, a retry over a year ahead, malformed durations and timestamps", async () => {
		const env = "settle-times";
		await client.enqueue({ messages: [msg(env, "a")] });
		const [a] = (await dequeue(env, 1)).deliveries as [Delivery];
		const before = await keyCount();
		await rejects(
			client.heartbeat({ consumerId: "w1", receipts: [a.receipt, a.receipt] }),
			Code.InvalidArgument,
			/receipts\[1\]: appears twice in this request \(also receipts\[0\]\)/,
		);
		await rejects(
			client.acknowledge({
				consumerId: "w1",
				acknowledgements: [
					{ receipt: a.receipt, reason: AckReason.COMPLETED },
					{ receipt: a.receipt, reason: AckReason.FAILED_PERMANENT },
				],
			}),
			Code.InvalidArgument,
			/acknowledgements\[1\]\.receipt: appears twice/,
		);
		const year3000 = { seconds: 32_503_680_000n, nanos: 0 };
		await rejects(
			client.nack({
				consumerId: "w1",
				items: [{ receipt: a.receipt, retry: { case: "retryAt", value: year3000 } }],
			}),
			Code.InvalidArgument,
			/items\[0\]\.retry_at: is more than one year ahead/,
		);
		await rejects(
			client.nack({
				consumerId: "w1",
				items: [
					{ receipt: a.receipt, retry: { case: "retryAt", value: { seconds: -62_135_596_801n, nanos: 0 } } },
				],
			}),
			Code.InvalidArgument,
			/items\[0\]\.retry_at: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z/,
		);
		await rejects(
			client.heartbeat({ consumerId: "w1", receipts: [a.receipt], extendBy: durationFromMs(500) }),
			Code.InvalidArgument,
			/extend_by: 500 ms is outside 1000 ms/,
		);
		await rejects(
			client.enqueue({
				messages: [
					msg(env, "b", { availability: { case: "delay", value: { seconds: 0n, nanos: 2_000_000_000 } } }),
				],
			}),
			Code.InvalidArgument,
			/messages\[0\]\.delay: nanos 2000000000 must be within/,
		);
		await rejects(
			client.enqueue({
				messages: [
					msg(env, "b", { availability: { case: "delay", value: { seconds: 1n, nanos: -400_000 } } }),
				],
			}),
			Code.InvalidArgument,
			/of the sign of seconds/,
		);
		await rejects(
			client.updateQueue({
				environmentId: env,
				queue: "q",
				visibilityTimeout: { seconds: 0n, nanos: 999_600_000 },
			}),
			Code.InvalidArgument,
			/visibility_timeout: 999\.6 ms is outside 1000 ms/,
		);
		assert.equal(await keyCount(), before, "nothing stored");
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.deepEqual([queue?.stats?.inFlight, queue?.stats?.delayed], [1n, 0n]);
		// A retry_at in the past retries now.
		const nacked = await client.nack({
			consumerId: "w1",
			items: [{ receipt: a.receipt, retry: { case: "retryAt", value: { seconds: 0n, nanos: 0 } } }],
		});
		assert.equal(nacked.requeued, 1);
		assert.equal((await dequeue(env, 1)).deliveries[0]?.message?.id, "a");
	});

	test("a SettleStream applies acknowledgements and nacks in order, lists each item's failure, and answers bad input in-band", async () => {
		const env = "settlestream";
		await client.enqueue({ messages: [msg(env, "a"), msg(env, "b"), msg(env, "c")] });
		const { deliveries } = await dequeue(env, 3, "w-settle");
		const receipt = (id: string) => deliveries.find((d) => d.message?.id === id)?.receipt ?? "";
		async function* requests() {
			yield create(SettleStreamRequestSchema, {
				kind: {
					case: "acknowledge",
					value: {
						consumerId: "w-settle",
						acknowledgements: [
							{ receipt: receipt("a"), reason: AckReason.COMPLETED },
							{ receipt: "bm90LWEtcmVjZWlwdA", reason: AckReason.COMPLETED },
						],
					},
				},
			});
			yield create(SettleStreamRequestSchema, {
				kind: { case: "nack", value: { consumerId: "w-settle", items: [{ receipt: receipt("b") }] } },
			});
			yield create(SettleStreamRequestSchema, {
				kind: {
					case: "acknowledge",
					value: { consumerId: "w-settle", acknowledgements: [{ receipt: receipt("c") }] },
				},
			});
			// One item, already acknowledged: listed as a failure, not a failed stream.
			yield create(SettleStreamRequestSchema, {
				kind: {
					case: "acknowledge",
					value: {
						consumerId: "w-settle",
						acknowledgements: [{ receipt: receipt("a"), reason: AckReason.COMPLETED }],
					},
				},
			});
		}
		const answers = [];
		for await (const answer of client.settleStream(requests())) answers.push(answer);
		assert.deepEqual(
			answers.map((a) => [a.sequence, a.result.case]),
			[
				[0n, "acknowledged"],
				[1n, "nacked"],
				[2n, "error"],
				[3n, "acknowledged"],
			],
		);
		const [first, second, third, fourth] = answers.map((a) => a.result);
		assert.equal(first?.case === "acknowledged" && first.value.acknowledged, 1);
		assert.deepEqual(
			first?.case === "acknowledged" ? first.value.failures.map((f) => [f.index, f.code]) : [],
			[[1, Code.NotFound]],
		);
		assert.equal(second?.case === "nacked" && second.value.requeued, 1);
		assert.equal(third?.case === "error" && third.value.code, Code.InvalidArgument);
		assert.match(
			third?.case === "error" ? third.value.message : "",
			/acknowledgements\[0\]\.reason: must not be ACK_REASON_UNSPECIFIED/,
		);
		assert.deepEqual(
			fourth?.case === "acknowledged"
				? [fourth.value.acknowledged, fourth.value.failures.map((f) => [f.index, f.code])]
				: [],
			[0, [[0, Code.FailedPrecondition]]],
		);
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		// a acknowledged once; b back in the queue; c still in flight (its request was refused).
		assert.equal(queue?.stats?.depth, 1n);
		assert.equal(queue?.stats?.inFlight, 1n);
		assert.deepEqual(
			queue?.stats?.acknowledgements.map((a) => [a.reason, a.count]),
			[[AckReason.COMPLETED, 1n]],
		);
	});

	test("an unacknowledged delivery comes back after its visibility timeout", async () => {
		const env = "visibility";
		await client.enqueue({ messages: [msg(env, "m")] });
		const first = (await dequeue(env, 1)).deliveries[0] as Delivery;
		assert.equal((await dequeue(env, 1, "w2")).deliveries.length, 0);
		clock.advance(30_001);
		const again = (await dequeue(env, 1, "w2")).deliveries[0] as Delivery;
		assert.equal(again.message?.id, "m");
		assert.equal(again.deliveryCount, 2);
		assert.notEqual(again.receipt, first.receipt);
		const returned = lines.find((l) => l.environment_id === env && l.event === "returned");
		assert.equal(returned?.why, "visibility_timeout");
		assert.equal(returned?.run_id, "run_m");
		await rejects(
			client.heartbeat({ consumerId: "w1", receipts: [first.receipt] }),
			Code.NotFound,
			/redelivered since/,
		);
	});

	test("after max nacks a message is dead-lettered, and redrive puts it back", async () => {
		const env = "deadletter";
		await client.enqueue({ messages: [msg(env, "m")] });
		for (let i = 0; i < 2; i++) {
			const d = (await dequeue(env, 1)).deliveries[0] as Delivery;
			const r = await client.nack({ consumerId: "w1", items: [{ receipt: d.receipt, detail: `boom ${i}` }] });
			assert.equal(r.deadLettered, i === 1 ? 1 : 0);
		}
		const dead = await client.listDeadLetters({ environmentId: env, queue: "q" });
		assert.deepEqual(
			dead.deadLetters.map((d) => [d.message?.id, d.reason, d.detail]),
			[["m", AckReason.MAX_NACKS_REACHED, "boom 1"]],
		);
		assert.equal((await client.redrive({ environmentId: env, queue: "q" })).redriven, 1);
		const back = (await dequeue(env, 1)).deliveries[0] as Delivery;
		assert.equal(back.message?.nackCount, 0);
	});

	test("a per-key limit at or above the queue's limit is refused", async () => {
		await rejects(
			client.updateQueue({
				environmentId: "limits",
				queue: "q",
				concurrencyLimit: 10,
				concurrencyKeyLimit: 10,
			}),
			Code.InvalidArgument,
			/concurrency_key_limit: 10 must be below the queue's concurrency_limit of 10/,
		);
		const ok = await client.updateQueue({
			environmentId: "limits",
			queue: "q",
			concurrencyLimit: 10,
			concurrencyKeyLimit: 4,
		});
		assert.equal(ok.queue?.limits?.concurrencyKeyLimit, 4);
	});

	/** A Consume stream the test drives by hand. */
	function openStream(env: string, consumerId: string, on = client) {
		const requests = new AsyncChannel<ConsumeRequest>(1000);
		const abort = new AbortController();
		const open = create(ConsumeRequestSchema, {
			kind: { case: "open", value: { consumerId, selectors: [{ environmentId: env }] } },
		});
		void requests.push(open);
		const responses = on.consume(requests, { signal: abort.signal })[Symbol.asyncIterator]();
		const send = (kind: MessageInitShape<typeof ConsumeRequestSchema>["kind"]) =>
			requests.push(create(ConsumeRequestSchema, { kind }));
		const next = async (): Promise<ConsumeResponse> => {
			const r = await responses.next();
			assert.ok(!r.done, "the stream ended");
			return r.value;
		};
		return { send, next, abort, requests, responses };
	}

	test("a draining server ends a Consume stream cleanly and its deliveries stay the consumer's, to settle on a new stream", async () => {
		const env = "consume-drain";
		await client.enqueue({ messages: [msg(env, "a"), msg(env, "b")] });
		const draining = await startTestServer(
			[queueServiceRegistration({ core, config: loadQueueConfig({}) })],
			{ drainTimeoutMs: 20_000 },
		);
		const s = openStream(env, "drained-worker", testClient(QueueService, draining.url));
		assert.equal((await s.next()).kind.case, "opened");
		await s.send({ case: "credit", value: { credits: 2 } });
		const got: Delivery[] = [];
		while (got.length < 2) {
			const r = await s.next();
			if (r.kind.case === "deliveries") got.push(...r.kind.value.deliveries);
		}
		const began = Date.now();
		const drain = draining.drain();
		// The stream ends with OK, long before the drain's 20 s timeout.
		assert.equal((await s.responses.next()).done, true);
		await drain;
		assert.ok(Date.now() - began < 5_000, `the drain took ${Date.now() - began} ms`);
		s.requests.close();
		// Not given back: another consumer finds nothing.
		const other = await client.dequeue({
			consumerId: "someone-else",
			selectors: [{ environmentId: env }],
			maxMessages: 2,
			waitTime: durationFromMs(300),
		});
		assert.deepEqual(other.deliveries, []);
		// The same consumer, on a stream elsewhere, heartbeats and acknowledges them.
		const again = openStream(env, "drained-worker");
		assert.equal((await again.next()).kind.case, "opened");
		const receipts = got.map((d) => d.receipt);
		await again.send({ case: "heartbeat", value: { consumerId: "drained-worker", receipts } });
		let r = await again.next();
		assert.equal(r.kind.case === "heartbeated" && r.kind.value.extended, 2);
		await again.send({
			case: "acknowledge",
			value: { acknowledgements: receipts.map((receipt) => ({ receipt, reason: AckReason.COMPLETED })) },
		});
		r = await again.next();
		assert.equal(r.kind.case === "acknowledged" && r.kind.value.acknowledged, 2);
		again.abort.abort();
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.deepEqual([queue?.stats?.depth, queue?.stats?.inFlight], [0n, 0n]);
	});

	test("a Consume stream pushes messages enqueued after it waits, within its credits, and takes acks", async () => {
		const env = "stream";
		const s = openStream(env, "s1");
		assert.equal((await s.next()).kind.case, "opened");
		await s.send({ case: "credit", value: { credits: 3 } });
		await client.enqueue({ messages: Array.from({ length: 5 }, (_, i) => msg(env, `m${i}`)) });
		const got: Delivery[] = [];
		while (got.length < 3) {
			const r = await s.next();
			assert.equal(r.kind.case, "deliveries");
			if (r.kind.case === "deliveries") got.push(...r.kind.value.deliveries);
		}
		assert.equal(got.length, 3);
		await s.send({
			case: "acknowledge",
			value: { acknowledgements: got.map((d) => ({ receipt: d.receipt, reason: AckReason.COMPLETED })) },
		});
		const acked = await s.next();
		assert.equal(acked.kind.case === "acknowledged" && acked.kind.value.acknowledged, 3);
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		// Three credits: three delivered, two still waiting.
		assert.equal(queue?.stats?.depth, 2n);
		s.requests.close();
		s.abort.abort();
	});

	test("a Consume stream cut mid-flight gives its messages back at once", async () => {
		const env = "cut";
		await client.enqueue({ messages: [msg(env, "a"), msg(env, "b")] });
		const s = openStream(env, "s2");
		await s.next();
		await s.send({ case: "credit", value: { credits: 2 } });
		let n = 0;
		while (n < 2) {
			const r = await s.next();
			if (r.kind.case === "deliveries") n += r.kind.value.deliveries.length;
		}
		s.abort.abort();
		// Waits (woken by the release, not by a timer) for both to come back.
		const got = await client.dequeue({
			consumerId: "w9",
			selectors: [{ environmentId: env }],
			maxMessages: 2,
			waitTime: durationFromMs(10_000),
		});
		const ids = got.deliveries.map((d) => d.message?.id);
		if (ids.length < 2) ids.push(...(await dequeue(env, 2, "w9")).deliveries.map((d) => d.message?.id));
		assert.deepEqual(ids.sort(), ["a", "b"]);
	});

	test("a held delivery is not given back when its stream is cut; it goes back at its visibility timeout unless settled", async () => {
		const env = "hold";
		await client.enqueue({ messages: [msg(env, "held"), msg(env, "loose")] });
		const s = openStream(env, "holder");
		await s.next();
		await s.send({ case: "credit", value: { credits: 2 } });
		const got: Delivery[] = [];
		while (got.length < 2) {
			const r = await s.next();
			if (r.kind.case === "deliveries") got.push(...r.kind.value.deliveries);
		}
		const held = got.find((d) => d.message?.id === "held") as Delivery;
		await s.send({ case: "hold", value: { receipts: [held.receipt, "bm90LWEtcmVjZWlwdA"] } });
		const answer = await s.next();
		assert.equal(
			answer.kind.case === "held" && answer.kind.value.held,
			1,
			"only this stream's delivery counts",
		);
		s.abort.abort();
		// The loose one comes back at once; the held one stays in flight.
		const back = await client.dequeue({
			consumerId: "other",
			selectors: [{ environmentId: env }],
			maxMessages: 2,
			waitTime: durationFromMs(1_000),
		});
		assert.deepEqual(
			back.deliveries.map((d) => d.message?.id),
			["loose"],
		);
		// Its holder (on any stream, or a settler on its behalf) still settles it by receipt.
		const acked = await client.acknowledge({
			consumerId: "holder",
			acknowledgements: [{ receipt: held.receipt, reason: AckReason.COMPLETED }],
		});
		assert.equal(acked.acknowledged, 1);
		await rejects(
			(async () => {
				const bad = openStream(env, "holder2");
				await bad.next();
				await bad.send({ case: "hold", value: { receipts: [] } });
				await bad.next();
			})(),
			Code.InvalidArgument,
			/hold\.receipts: 0 receipts; send 1 to 1000/,
		);
	});

	test("a held delivery nobody extends or settles goes back at its visibility timeout", async () => {
		const env = "hold-timeout";
		await client.enqueue({ messages: [msg(env, "held")] });
		const s = openStream(env, "brief");
		await s.next();
		await s.send({ case: "credit", value: { credits: 1 } });
		let delivery: Delivery | undefined;
		while (delivery === undefined) {
			const r = await s.next();
			if (r.kind.case === "deliveries") delivery = r.kind.value.deliveries[0];
		}
		await s.send({ case: "hold", value: { receipts: [delivery.receipt] } });
		await s.next();
		s.abort.abort();
		// Give the server the moment it needs to see the stream end (a release would happen then).
		await new Promise((resolve) => setTimeout(resolve, 300));
		assert.equal((await dequeue(env, 1, "later")).deliveries.length, 0, "still in flight");
		clock.advance(30_001);
		const again = (await dequeue(env, 1, "later")).deliveries[0];
		assert.equal(again?.message?.id, "held");
		assert.equal(again?.deliveryCount, 2);
	});

	test("credits of zero or less end the stream with INVALID_ARGUMENT", async () => {
		const s = openStream("credits", "s3");
		await s.next();
		await s.send({ case: "credit", value: { credits: 0 } });
		await rejects(s.next(), Code.InvalidArgument, /credit\.credits: 0 must be from 1/);
	});

	test("a consumer stating free resources gets only messages that fit", async () => {
		const env = "resources";
		await client.enqueue({
			messages: [
				msg(env, "large", { resources: { cpu: 8, memoryGb: 16 } }),
				msg(env, "small", { resources: { cpu: 0.5, memoryGb: 0.5 } }),
			],
		});
		const s = openStream(env, "s4");
		await s.next();
		await s.send({ case: "credit", value: { credits: 5, freeResources: { cpu: 1, memoryGb: 2 } } });
		const r = await s.next();
		assert.ok(r.kind.case === "deliveries");
		assert.deepEqual(
			r.kind.value.deliveries.map((d) => d.message?.id),
			["small"],
		);
		s.abort.abort();
	});

	test("a consumer whose resources are taken gets the next message once it acknowledges", async () => {
		const env = "resources-freed";
		await client.enqueue({
			messages: ["a", "b"].map((id) => msg(env, id, { resources: { cpu: 1, memoryGb: 1 } })),
		});
		const s = openStream(env, "s5");
		await s.next();
		await s.send({ case: "credit", value: { credits: 5, freeResources: { cpu: 1, memoryGb: 1 } } });
		const first = await s.next();
		assert.ok(first.kind.case === "deliveries");
		assert.equal(first.kind.value.deliveries.length, 1);
		const [d] = first.kind.value.deliveries as [Delivery];
		await s.send({
			case: "acknowledge",
			value: { acknowledgements: [{ receipt: d.receipt, reason: AckReason.COMPLETED }] },
		});
		const seen: string[] = [];
		while (seen.length < 1) {
			const r = await s.next();
			if (r.kind.case === "deliveries") seen.push(...r.kind.value.deliveries.map((x) => x.message?.id ?? ""));
		}
		assert.deepEqual(seen, [d.message?.id === "a" ? "b" : "a"]);
		s.abort.abort();
	});

	test("acknowledgements are exported as OpenTelemetry counters per queue and reason", async () => {
		const env = "otel";
		await client.enqueue({ messages: [msg(env, "a"), msg(env, "b")] });
		const { deliveries } = await dequeue(env, 2);
		await client.acknowledge({
			consumerId: "w1",
			acknowledgements: deliveries.map((d, i) => ({
				receipt: d.receipt,
				reason: i === 0 ? AckReason.COMPLETED : AckReason.FAILED_PERMANENT,
			})),
		});
		const { resourceMetrics } = await reader.collect();
		const metric = resourceMetrics.scopeMetrics
			.flatMap((s) => s.metrics)
			.find((m) => m.descriptor.name === "taskmesh.queue.acknowledgements");
		assert.ok(metric, "the acknowledgements counter exists");
		const points = metric.dataPoints
			.filter((p) => p.attributes.environment_id === env)
			.map((p) => [p.attributes.queue, p.attributes.reason, p.value])
			.sort();
		assert.deepEqual(points, [
			["q", "completed", 1],
			["q", "failed_permanent", 1],
		]);
	});

	test("a Dequeue that waits answers with a message enqueued meanwhile, delivered and logged as its", async () => {
		const env = "long-poll";
		const began = Date.now();
		const answer = client.dequeue({
			consumerId: "poller",
			selectors: [{ environmentId: env }],
			maxMessages: 5,
			waitTime: durationFromMs(10_000),
		});
		// Sent once the Dequeue waits (it is handed over then); sent sooner, it is delivered as usual.
		await sleep(300);
		await client.enqueue({ messages: [msg(env, "polled")] });
		const { deliveries } = await answer;
		assert.ok(Date.now() - began < 5_000, `answered after ${Date.now() - began} ms`);
		assert.deepEqual(
			deliveries.map((d) => [d.message?.id, d.deliveryCount]),
			[["polled", 1]],
		);
		const { queue } = await client.getQueue({ environmentId: env, queue: "q" });
		assert.deepEqual([queue?.stats?.depth, queue?.stats?.inFlight], [0n, 1n]);
		const acked = await client.acknowledge({
			consumerId: "poller",
			acknowledgements: [{ receipt: (deliveries[0] as Delivery).receipt, reason: AckReason.COMPLETED }],
		});
		assert.equal(acked.acknowledged, 1);
		const mine = lines.filter((l) => l.environment_id === env && l.message_id === "polled");
		assert.deepEqual(
			mine.map((l) => [l.event, l.consumer_id]),
			[
				["enqueued", undefined],
				["delivered", "poller"],
				["acknowledged", "poller"],
			],
		);
	});

	test("development mode logs each step of a message's life with run, task and environment", async () => {
		const env = "lifecycle";
		await client.enqueue({ messages: [msg(env, "m")] });
		const first = (await dequeue(env, 1, "worker-7")).deliveries[0] as Delivery;
		await client.heartbeat({ consumerId: "worker-7", receipts: [first.receipt] });
		await client.nack({ consumerId: "worker-7", items: [{ receipt: first.receipt, detail: "retry me" }] });
		const second = (await dequeue(env, 1, "worker-7")).deliveries[0] as Delivery;
		await client.acknowledge({
			consumerId: "worker-7",
			acknowledgements: [{ receipt: second.receipt, reason: AckReason.COMPLETED, detail: "done" }],
		});
		const mine = lines.filter((l) => l.environment_id === env && l.message_id === "m");
		assert.deepEqual(
			mine.map((l) => l.event),
			["enqueued", "delivered", "heartbeated", "nacked", "delivered", "acknowledged"],
		);
		for (const l of mine) {
			assert.equal(l.run_id, "run_m");
			assert.equal(l.task_id, "task_a");
		}
		assert.equal(mine[1]?.consumer_id, "worker-7");
		const acked = mine[5] as Record<string, unknown>;
		assert.equal(acked.reason, "completed");
		assert.equal(acked.detail, "done");
		assert.equal(typeof acked.ms_since_enqueue, "number");
		assert.equal(typeof acked.ms_since_delivery, "number");
	});

	test("fifty consumers through gRPC never exceed the queue, key and environment limits", async () => {
		const env = "grpc-limits";
		await client.updateEnvironment({ environmentId: env, concurrencyLimit: 10 });
		await client.updateQueue({ environmentId: env, queue: "q", concurrencyLimit: 8, concurrencyKeyLimit: 3 });
		await client.updateQueue({ environmentId: env, queue: "r", concurrencyLimit: 5 });
		const total = 200;
		await client.enqueue({
			messages: Array.from({ length: total }, (_, i) =>
				msg(env, `m${i}`, { queue: i % 2 ? "q" : "r", concurrencyKey: i % 2 ? `k${i % 3}` : "" }),
			),
		});
		const held = new Map<string, Delivery>();
		let settled = 0;
		let deadLettered = 0;
		let peak = 0;
		const check = () => {
			peak = Math.max(peak, held.size);
			const count = (f: (d: Delivery) => boolean) => [...held.values()].filter(f).length;
			assert.ok(held.size <= 10, `environment: ${held.size} in flight`);
			assert.ok(count((d) => d.message?.queue === "q") <= 8, "queue q over its limit");
			assert.ok(count((d) => d.message?.queue === "r") <= 5, "queue r over its limit");
			for (const k of ["k0", "k1", "k2"])
				assert.ok(count((d) => d.message?.concurrencyKey === k) <= 3, `${k} over 3`);
		};
		let seed = 11;
		const random = () => {
			seed = (seed * 16807) % 2147483647;
			return seed / 2147483647;
		};
		await Promise.all(
			Array.from({ length: 50 }, async (_, c) => {
				const consumerId = `c${c}`;
				const mine: Delivery[] = [];
				let idle = 0;
				while (settled + deadLettered < total && idle < 200) {
					const { deliveries } = await dequeue(env, 2, consumerId);
					for (const d of deliveries) {
						held.set(d.message?.id ?? "", d);
						mine.push(d);
					}
					check();
					idle = deliveries.length === 0 ? idle + 1 : 0;
					// Settle one held delivery now and then, so deliveries overlap and limits bind.
					if (mine.length > 0 && (random() < 0.5 || idle > 0)) {
						const d = mine.splice(Math.floor(random() * mine.length), 1)[0] as Delivery;
						held.delete(d.message?.id ?? "");
						if (random() < 0.85) {
							await client.acknowledge({
								consumerId,
								acknowledgements: [{ receipt: d.receipt, reason: AckReason.COMPLETED }],
							});
							settled += 1;
						} else {
							const r = await client.nack({ consumerId, items: [{ receipt: d.receipt }] });
							deadLettered += r.deadLettered;
						}
						check();
					}
				}
			}),
		);
		const listed = await client.listQueues({ environmentId: env });
		const dead = listed.queues.reduce((n, q) => n + Number(q.stats?.deadLettered ?? 0n), 0);
		assert.equal(dead, deadLettered);
		assert.equal(settled + dead, total);
		assert.equal(listed.environmentInFlight, 0n);
		assert.equal(peak, 10);
	});
});
