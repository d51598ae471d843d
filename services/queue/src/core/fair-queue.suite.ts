import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { RedisClient } from "../../../kit/src/index.js";
import { packEnqueueMessages } from "./enqueue-packing.js";
import type { FairQueue } from "./fair-queue.js";
import { handoffTests } from "./handoff.suite.js";
import type { QueueCatalog } from "./queue-catalog.js";
import { type ManualClock, message, testQueueCore } from "./testing-fixture.js";
import type { Delivery } from "./types.js";

/**
 * The core's behaviour, run against any Redis: a standalone server
 * (fair-queue.test.ts) and a three-master cluster (fair-queue.cluster.test.ts).
 */
export function fairQueueSuite(
	title: string,
	connect: () => Promise<RedisClient>,
	disconnect: () => Promise<void>,
) {
	describe(title, () => {
		let redis: RedisClient;
		let queue: FairQueue;
		let catalog: QueueCatalog;
		let clock: ManualClock;
		let close: () => Promise<void>;

		before(async () => {
			redis = await connect();
			const made = testQueueCore(redis);
			queue = made.core.queue;
			catalog = made.core.catalog;
			clock = made.clock;
			close = async () => {
				await made.core.close();
				await made.dropKeys();
			};
		});

		after(async () => {
			await close();
			await disconnect();
		});

		const take = (environmentId: string, max: number, queues: string[] = [], consumerId = "c1") =>
			queue.deliver({ consumerId, selectors: [{ environmentId, queues }], max }).then((r) => r.deliveries);

		test("enqueue is idempotent by message id", async () => {
			const first = await queue.enqueue([
				message("a", { environmentId: "idem" }),
				message("b", { environmentId: "idem" }),
			]);
			const again = await queue.enqueue([
				message("a", { environmentId: "idem", payload: Buffer.from("other") }),
			]);
			assert.deepEqual(first, [false, false]);
			assert.deepEqual(again, [true]);
			const got = await take("idem", 10);
			assert.deepEqual(got.map((d) => d.message.payload.toString()).sort(), ["payload of a", "payload of b"]);
		});

		test("every field of a message comes back as enqueued, across several packed arguments", async () => {
			const env = "fields";
			// Ten 1 MiB payloads of every byte value: more than one argument's worth.
			const big = Array.from({ length: 10 }, (_, i) => {
				const payload = Buffer.alloc(1024 * 1024);
				for (let b = 0; b < payload.length; b++) payload[b] = (b * 7 + i) & 0xff;
				return message(`big-${i}`, { environmentId: env, payload });
			});
			const odd = message("odd:é/✓", {
				environmentId: env,
				queue: "q/ü",
				concurrencyKey: "tenant:ß",
				payload: Buffer.from([0, 0x1f, 0xff, 0x1f, 0]),
				priority: -3,
				resources: { cpu: 0.1, memoryGb: 0.25 },
				metadata: { runId: "run_ü", taskId: "täsk", attempt: 7, labels: { "k\u001f": "v😀", empty: "" } },
			});
			const later = message("later", { environmentId: env, availableAt: clock.now() + 1_000, priority: 2 });
			const messages = [...big, odd, later];
			assert.ok(packEnqueueMessages(messages, undefined, messages.length, clock.now()).length >= 2);
			assert.deepEqual(await queue.enqueue(messages), new Array(12).fill(false));
			clock.advance(1_000);
			const got = new Map<string, Delivery>();
			for (let round = 0; round < 5 && got.size < messages.length; round++) {
				for (const d of await take(env, 100, [], `c${round}`)) got.set(d.message.id, d);
			}
			assert.equal(got.size, messages.length);
			for (const m of messages) {
				const d = got.get(m.id)?.message;
				assert.ok(d, m.id);
				assert.equal(Buffer.compare(d.payload, Buffer.from(m.payload)), 0, `${m.id} payload`);
				assert.equal(d.queue, m.queue);
				assert.equal(d.concurrencyKey, m.concurrencyKey);
				assert.equal(d.priority, m.priority);
				assert.equal(d.availableAt, m.availableAt ?? clock.now() - 1_000);
				assert.deepEqual(d.resources, m.resources ?? { cpu: 0, memoryGb: 0 });
				assert.deepEqual(d.metadata, m.metadata);
				assert.equal(d.nackCount, 0);
				assert.equal(got.get(m.id)?.deliveryCount, 1);
			}
		});

		test("higher priority is delivered first, then older messages", async () => {
			const env = "prio";
			await queue.enqueue([message("low", { environmentId: env, priority: 1 })]);
			clock.advance(10);
			await queue.enqueue([message("high", { environmentId: env, priority: 5 })]);
			clock.advance(10);
			await queue.enqueue([message("low2", { environmentId: env, priority: 1 })]);
			const got = await take(env, 3);
			assert.deepEqual(
				got.map((d) => d.message.id),
				["high", "low", "low2"],
			);
		});

		test("a delayed message is delivered only once its time has come", async () => {
			const env = "delay";
			await queue.enqueue([message("later", { environmentId: env, availableAt: clock.now() + 5_000 })]);
			assert.equal((await take(env, 1)).length, 0);
			assert.equal((await catalog.getQueue(env, "q")).stats.delayed, 1);
			clock.advance(5_000);
			const got = await take(env, 1);
			assert.deepEqual(
				got.map((d) => d.message.id),
				["later"],
			);
		});

		test("a delivery not settled within its visibility timeout is delivered again with a new receipt", async () => {
			const env = "vis";
			await queue.enqueue([message("m", { environmentId: env })]);
			const [first] = await take(env, 1);
			assert.ok(first);
			clock.advance(60_001);
			const [second] = await take(env, 1, [], "c2");
			assert.ok(second);
			assert.equal(second.message.id, "m");
			assert.equal(second.deliveryCount, 2);
			const stale = await queue.acknowledge("c1", [{ receipt: first.receipt, reason: 1, detail: "" }]);
			assert.equal(stale.failures[0]?.code, "NOT_FOUND");
			const ok = await queue.acknowledge("c2", [{ receipt: second.receipt, reason: 1, detail: "" }]);
			assert.equal(ok.acknowledged, 1);
		});

		test("a heartbeat keeps a delivery from being redelivered", async () => {
			const env = "beat";
			await queue.enqueue([message("m", { environmentId: env })]);
			const [d] = await take(env, 1);
			assert.ok(d);
			clock.advance(50_000);
			assert.equal((await queue.heartbeat("c1", [d.receipt], 0)).extended, 1);
			clock.advance(50_000);
			assert.equal((await take(env, 1)).length, 0);
			assert.equal(
				(await queue.acknowledge("c1", [{ receipt: d.receipt, reason: 1, detail: "" }])).acknowledged,
				1,
			);
		});

		test("acknowledging twice or as another consumer fails and changes nothing", async () => {
			const env = "twice";
			await queue.enqueue([message("m", { environmentId: env })]);
			const [d] = await take(env, 1);
			assert.ok(d);
			const other = await queue.acknowledge("c9", [{ receipt: d.receipt, reason: 1, detail: "" }]);
			assert.equal(other.failures[0]?.code, "FAILED_PRECONDITION");
			assert.match(other.failures[0]?.message ?? "", /another consumer/);
			assert.equal(
				(await queue.acknowledge("c1", [{ receipt: d.receipt, reason: 1, detail: "" }])).acknowledged,
				1,
			);
			const again = await queue.acknowledge("c1", [{ receipt: d.receipt, reason: 1, detail: "" }]);
			assert.equal(again.failures[0]?.code, "FAILED_PRECONDITION");
			assert.match(again.failures[0]?.message ?? "", /already acknowledged/);
			const stats = (await catalog.getQueue(env, "q")).stats;
			assert.equal(stats.acknowledgements.get(1), 1);
			assert.equal(stats.inFlight, 0);
		});

		test("acknowledgements are counted per queue and reason", async () => {
			const env = "reasons";
			await queue.enqueue([1, 2, 3].map((i) => message(`m${i}`, { environmentId: env })));
			const got = await take(env, 3);
			const result = await queue.acknowledge(
				"c1",
				got.map((d, i) => ({ receipt: d.receipt, reason: i === 0 ? 3 : 1, detail: "" })),
			);
			assert.equal(result.acknowledged, 3);
			const stats = (await catalog.getQueue(env, "q")).stats;
			assert.deepEqual([...stats.acknowledgements].sort(), [
				[1, 2],
				[3, 1],
			]);
		});

		test("a message nacked max-nacks times is dead-lettered, and redrive puts it back", async () => {
			const env = "dead";
			await queue.enqueue([message("m", { environmentId: env })]);
			for (let i = 1; i <= 3; i++) {
				const [d] = await take(env, 1);
				assert.ok(d, `delivery ${i}`);
				const r = await queue.nack("c1", [{ receipt: d.receipt, detail: `try ${i}` }]);
				assert.equal(r.deadLettered, i === 3 ? 1 : 0);
			}
			assert.equal((await take(env, 1)).length, 0);
			const info = await catalog.getQueue(env, "q");
			assert.equal(info.stats.deadLettered, 1);
			assert.equal(info.stats.acknowledgements.get(6), 1);
			const page = await catalog.listDeadLetters(env, "q", 10, "");
			assert.equal(page.items[0]?.message.id, "m");
			assert.equal(page.items[0]?.detail, "try 3");
			assert.equal(await catalog.redrive(env, "q", [], 10), 1);
			const [back] = await take(env, 1);
			assert.equal(back?.message.id, "m");
			assert.equal(back?.message.nackCount, 0);
		});

		test("a nack with a delay delivers again only after it", async () => {
			const env = "nackdelay";
			await queue.enqueue([message("m", { environmentId: env })]);
			const [d] = await take(env, 1);
			assert.ok(d);
			await queue.nack("c1", [{ receipt: d.receipt, retryAt: clock.now() + 1_000, detail: "" }]);
			assert.equal((await take(env, 1)).length, 0);
			clock.advance(1_000);
			assert.equal((await take(env, 1))[0]?.message.nackCount, 1);
		});

		test("a paused queue delivers nothing until resumed", async () => {
			const env = "pause";
			await catalog.updateQueue(env, "q", { paused: true });
			await queue.enqueue([message("m", { environmentId: env })]);
			assert.equal((await take(env, 1)).length, 0);
			await catalog.updateQueue(env, "q", { paused: false });
			assert.equal((await take(env, 1)).length, 1);
		});

		test("only messages that fit the consumer's free resources are delivered", async () => {
			const env = "fit";
			await queue.enqueue([
				message("big", { environmentId: env, resources: { cpu: 4, memoryGb: 8 } }),
				message("small", { environmentId: env, resources: { cpu: 1, memoryGb: 1 } }),
				message("small2", { environmentId: env, resources: { cpu: 1, memoryGb: 1 } }),
			]);
			const got = await queue.deliver({
				consumerId: "c1",
				selectors: [{ environmentId: env, queues: [] }],
				max: 10,
				free: { cpu: 1.5, memoryGb: 4 },
			});
			assert.deepEqual(
				got.deliveries.map((d) => d.message.id),
				["small"],
			);
		});

		test("a consumer of two environments gets what one leaves from the other", async () => {
			await queue.enqueue([1, 2].map((i) => message(`x${i}`, { environmentId: "two-x" })));
			await queue.enqueue(Array.from({ length: 10 }, (_, i) => message(`y${i}`, { environmentId: "two-y" })));
			const got = await queue.deliver({
				consumerId: "c1",
				selectors: [
					{ environmentId: "two-x", queues: [] },
					{ environmentId: "two-y", queues: ["q"] },
				],
				max: 10,
			});
			const count = (env: string) => got.deliveries.filter((d) => d.message.environmentId === env).length;
			assert.equal(count("two-x"), 2);
			assert.equal(count("two-y"), 8);
		});

		test("a key with 10,000 waiting messages does not hold back a key with 10", async () => {
			const env = "fair";
			for (let b = 0; b < 10; b++) {
				await queue.enqueue(
					Array.from({ length: 1000 }, (_, i) =>
						message(`a${b * 1000 + i}`, { environmentId: env, concurrencyKey: "A" }),
					),
				);
			}
			clock.advance(1_000);
			await queue.enqueue(
				Array.from({ length: 10 }, (_, i) => message(`b${i}`, { environmentId: env, concurrencyKey: "B" })),
			);
			// Bound: with two keys served round-robin, B's 10 messages are out within the
			// first 2 x 10 deliveries; the test allows 40 (two more batches of 10).
			const order: string[] = [];
			while (order.filter((id) => id.startsWith("b")).length < 10 && order.length < 200) {
				for (const d of await take(env, 10)) order.push(d.message.concurrencyKey);
			}
			const lastB = order.lastIndexOf("B");
			assert.ok(lastB >= 0 && lastB < 40, `B's last message was delivery ${lastB + 1}`);
		});

		test("fifty consumers never exceed the queue, key and environment limits", async () => {
			const env = "limits";
			await catalog.updateEnvironment(env, 12);
			await catalog.updateQueue(env, "q1", { concurrencyLimit: 8, concurrencyKeyLimit: 3, maxNacks: 1000 });
			await catalog.updateQueue(env, "q2", { concurrencyLimit: 6, maxNacks: 1000 });
			const keys = ["k1", "k2", "k3", "k4"];
			const total = 400;
			await queue.enqueue(
				Array.from({ length: total }, (_, i) =>
					message(`m${i}`, {
						environmentId: env,
						queue: i % 2 === 0 ? "q1" : "q2",
						concurrencyKey: i % 2 === 0 ? (keys[(i / 2) % 4] as string) : "",
					}),
				),
			);
			// Saturate first, deterministically: greedy takes stop at exactly the
			// environment's limit of 12, so the limits below are really exercised.
			const greedy: Delivery[] = [];
			for (let got = await take(env, 50); got.length > 0; got = await take(env, 50)) greedy.push(...got);
			assert.equal(greedy.length, 12);
			assert.ok(greedy.filter((d) => d.message.queue === "q1").length <= 8);
			assert.ok(greedy.filter((d) => d.message.queue === "q2").length <= 6);
			const requeued = await queue.nack(
				"c1",
				greedy.map((d) => ({ receipt: d.receipt, detail: "" })),
			);
			assert.equal(requeued.requeued, 12);
			const held = new Map<string, Delivery>();
			let acked = 0;
			let peak = 0;
			const check = () => {
				peak = Math.max(peak, held.size);
				const byQueue = new Map<string, number>();
				const byKey = new Map<string, number>();
				for (const d of held.values()) {
					byQueue.set(d.message.queue, (byQueue.get(d.message.queue) ?? 0) + 1);
					if (d.message.concurrencyKey !== "") {
						byKey.set(d.message.concurrencyKey, (byKey.get(d.message.concurrencyKey) ?? 0) + 1);
					}
				}
				assert.ok(held.size <= 12, `environment in flight ${held.size} > 12`);
				assert.ok((byQueue.get("q1") ?? 0) <= 8, `q1 in flight ${byQueue.get("q1")} > 8`);
				assert.ok((byQueue.get("q2") ?? 0) <= 6, `q2 in flight ${byQueue.get("q2")} > 6`);
				for (const [k, n] of byKey) assert.ok(n <= 3, `key ${k} in flight ${n} > 3`);
			};
			let seed = 7;
			const random = () => {
				seed = (seed * 16807) % 2147483647;
				return seed / 2147483647;
			};
			const consumer = async (c: number) => {
				const mine: Delivery[] = [];
				let idle = 0;
				while (acked < total && idle < 400) {
					const got = await take(env, 1 + Math.floor(random() * 3), [], `c${c}`);
					for (const d of got) {
						assert.ok(!held.has(d.message.id), `${d.message.id} delivered twice at once`);
						held.set(d.message.id, d);
						mine.push(d);
					}
					check();
					idle = got.length === 0 ? idle + 1 : 0;
					if (mine.length > 0 && random() < 0.7) {
						const d = mine.splice(Math.floor(random() * mine.length), 1)[0] as Delivery;
						held.delete(d.message.id);
						if (random() < 0.8) {
							const r = await queue.acknowledge(`c${c}`, [{ receipt: d.receipt, reason: 1, detail: "" }]);
							assert.equal(r.acknowledged, 1);
							acked += 1;
						} else {
							const r = await queue.nack(`c${c}`, [{ receipt: d.receipt, detail: "" }]);
							assert.equal(r.requeued, 1);
						}
						check();
					}
				}
				for (const d of mine) {
					held.delete(d.message.id);
					await queue.acknowledge(`c${c}`, [{ receipt: d.receipt, reason: 1, detail: "" }]);
					acked += 1;
				}
			};
			await Promise.all(Array.from({ length: 50 }, (_, c) => consumer(c)));
			assert.equal(acked, total);
			// Fifty racing consumers came close to the limit (exact saturation is checked above).
			assert.ok(peak >= 8, `peak in flight ${peak}`);
			const listed = await catalog.listQueues(env, 10, "");
			assert.equal(listed.environmentInFlight, 0);
			assert.deepEqual(
				listed.queues.map((q) => [q.name, q.stats.depth, q.stats.inFlight, q.stats.acknowledgements.get(1)]),
				[
					["q1", 0, 0, 200],
					["q2", 0, 0, 200],
				],
			);
		});
		handoffTests(() => ({ queue, catalog, clock }));
	});
}
