import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ConsumerSession } from "./consumer-session.js";
import { dequeueWaiting } from "./dequeue-waiting.js";
import type { FairQueue } from "./fair-queue.js";
import type { QueueCatalog } from "./queue-catalog.js";
import { environmentBase } from "./queue-context.js";
import { type ManualClock, message } from "./testing-fixture.js";
import type { DeliverRequest, Delivery, Resources } from "./types.js";
import type { HandoffTaker } from "./waiting-consumers.js";

/** The shared parts of the suite that runs these tests. */
export interface HandoffFixture {
	queue: FairQueue;
	catalog: QueueCatalog;
	clock: ManualClock;
}

/** Waits until check() holds, failing after two seconds with what was awaited. */
async function until(what: string, check: () => boolean): Promise<void> {
	for (let waited = 0; !check(); waited += 2) {
		if (waited > 2_000) assert.fail(`timed out waiting for ${what}`);
		await sleep(2);
	}
}

/**
 * A streaming consumer as the Consume handler runs one, on the fixture's queue,
 * counting the delivery scripts it runs so a test can tell a hand-off (none)
 * from a delivery after a wake-up.
 */
function startConsumer(
	queue: FairQueue,
	environmentId: string,
	options: { consumerId?: string; credits?: number; free?: Resources; onPush?: (d: Delivery) => void } = {},
) {
	const pushed: Delivery[] = [];
	const counted = { looks: 0 };
	// The session asks its queue for deliveries; this one counts the asks.
	const counting = Object.create(queue) as FairQueue;
	counting.deliver = (request) => {
		counted.looks += 1;
		return queue.deliver(request);
	};
	const session = new ConsumerSession({
		queue: counting,
		consumerId: options.consumerId ?? `c-${environmentId}`,
		selectors: [{ environmentId, queues: [] }],
		...(options.free === undefined ? {} : { free: options.free }),
		push: async (deliveries) => {
			pushed.push(...deliveries);
			for (const d of deliveries) options.onPush?.(d);
		},
		maxBatch: 100,
		idleRecheckMs: 60_000,
		telemetry: false,
		spanPeriodMs: 1_000,
	});
	session.addCredits(options.credits ?? 10);
	const stop = new AbortController();
	const running = session.run(stop.signal);
	return {
		session,
		pushed,
		counted,
		/** Resolves once the session has looked `looks` times and is waiting again. */
		async idleAfter(looks: number) {
			await until(
				`${looks} delivery scripts and a wait`,
				() => counted.looks >= looks && queue.waiting.isWaiting(environmentId, session),
			);
		},
		async stop() {
			stop.abort();
			await running;
			return session.close();
		},
	};
}

/** Hand-off tests: a message enqueued alone while a consumer of this process waits. */
export function handoffTests(fixture: () => HandoffFixture) {
	test("a message enqueued while a consumer waits is handed to it by the enqueue script, in flight as a delivery leaves it", async () => {
		const { queue, catalog, clock } = fixture();
		const env = "handoff";
		const consumer = startConsumer(queue, env);
		await consumer.idleAfter(1);
		assert.deepEqual(await queue.enqueue([message("h1", { environmentId: env })]), [false]);
		// Settled before enqueue returned: no wake-up and no delivery script.
		assert.equal(consumer.pushed.length, 1);
		assert.equal(consumer.counted.looks, 1);
		const d = consumer.pushed[0] as Delivery;
		assert.equal(d.message.id, "h1");
		assert.equal(d.message.payload.toString(), "payload of h1");
		assert.equal(d.message.metadata.runId, "run_h1");
		assert.equal(d.deliveryCount, 1);
		assert.equal(d.visibleUntil, clock.now() + 60_000);
		let info = await catalog.getQueue(env, "q");
		assert.deepEqual([info.stats.depth, info.stats.inFlight], [0, 1]);
		assert.equal((await catalog.listQueues(env, 10, "")).environmentInFlight, 1);
		const acked = await queue.acknowledge("c-handoff", [{ receipt: d.receipt, reason: 1, detail: "" }]);
		assert.equal(acked.acknowledged, 1);
		info = await catalog.getQueue(env, "q");
		assert.deepEqual([info.stats.depth, info.stats.inFlight, info.stats.acknowledgements.get(1)], [0, 0, 1]);

		// A duplicate id is neither stored again nor handed over.
		await queue.enqueue([message("h2", { environmentId: env })]);
		assert.deepEqual(await queue.enqueue([message("h2", { environmentId: env })]), [true]);
		assert.deepEqual(
			consumer.pushed.map((p) => p.message.id),
			["h1", "h2"],
		);
		// Not settled within its visibility timeout, a handed-over message comes back.
		const first = consumer.pushed[1] as Delivery;
		clock.advance(61_000);
		await queue.sweep();
		await until("the redelivery", () => consumer.pushed.length === 3);
		const again = consumer.pushed[2] as Delivery;
		assert.deepEqual([again.message.id, again.deliveryCount], ["h2", 2]);
		const stale = await queue.acknowledge("c-handoff", [{ receipt: first.receipt, reason: 1, detail: "" }]);
		assert.equal(stale.acknowledged, 0);
		assert.equal(await consumer.stop(), 1);
		info = await catalog.getQueue(env, "q");
		assert.deepEqual([info.stats.depth, info.stats.inFlight], [1, 0]);
	});

	test("limits, pauses, free resources, delays and a queue's backlog hold for a waiting consumer", async () => {
		const { queue, catalog, clock } = fixture();
		const env = "handoff-held";
		await catalog.updateQueue(env, "lim", { concurrencyLimit: 1 });
		await catalog.updateQueue(env, "paused", { paused: true });
		const consumer = startConsumer(queue, env, { free: { cpu: 2, memoryGb: 4 } });
		await consumer.idleAfter(1);
		const ids = () => consumer.pushed.map((p) => p.message.id);

		await queue.enqueue([message("a", { environmentId: env, queue: "lim" })]);
		assert.deepEqual(ids(), ["a"]);
		assert.equal(consumer.counted.looks, 1);
		// The queue is at its limit: stored ready; the consumer, woken, finds nothing it may take.
		await queue.enqueue([message("b", { environmentId: env, queue: "lim" })]);
		await consumer.idleAfter(2);
		assert.deepEqual(ids(), ["a"]);
		assert.deepEqual((await catalog.getQueue(env, "lim")).stats.depth, 1);
		await queue.acknowledge("c-handoff-held", [
			{ receipt: consumer.pushed[0]?.receipt ?? "", reason: 1, detail: "" },
		]);
		await until("b after a's acknowledgement", () => consumer.pushed.length === 2);
		assert.deepEqual(ids(), ["a", "b"]);

		// Paused and delayed messages wait; so does one bigger than the consumer's free cpu.
		const looks = consumer.counted.looks;
		await queue.enqueue([message("p", { environmentId: env, queue: "paused" })]);
		await queue.enqueue([
			message("later", { environmentId: env, queue: "d", availableAt: clock.now() + 1_000 }),
		]);
		await queue.enqueue([
			message("big", { environmentId: env, queue: "r", resources: { cpu: 3, memoryGb: 1 } }),
		]);
		await consumer.idleAfter(looks + 1);
		assert.deepEqual(ids(), ["a", "b"]);
		assert.equal((await catalog.getQueue(env, "paused")).stats.depth, 1);
		assert.equal((await catalog.getQueue(env, "d")).stats.delayed, 1);
		// Behind "big" in its queue, a small message is not handed over but delivered as
		// usual, by the delivery script that passes over what does not fit.
		await queue.enqueue([
			message("small", { environmentId: env, queue: "r", resources: { cpu: 1, memoryGb: 1 } }),
		]);
		await until("small", () => consumer.pushed.length === 3);
		assert.ok(consumer.counted.looks > looks + 1);
		// small takes 1 of the 2 free cpus: c, needing 1.5, is not handed over either.
		await queue.enqueue([
			message("c", { environmentId: env, queue: "e", resources: { cpu: 1.5, memoryGb: 1 } }),
		]);
		await consumer.idleAfter(consumer.counted.looks + 1);
		assert.deepEqual(ids(), ["a", "b", "small"]);
		assert.equal(await consumer.stop(), 2);
	});

	test("a concurrency key's and an environment's limits hold for a waiting consumer", async () => {
		const { queue, catalog } = fixture();
		const env = "handoff-keys";
		await catalog.updateQueue(env, "k", { concurrencyKeyLimit: 1 });
		const consumer = startConsumer(queue, env);
		await consumer.idleAfter(1);
		const ids = () => consumer.pushed.map((p) => p.message.id);
		await queue.enqueue([message("x", { environmentId: env, queue: "k", concurrencyKey: "A" })]);
		await queue.enqueue([message("y", { environmentId: env, queue: "k", concurrencyKey: "A" })]);
		await consumer.idleAfter(2);
		assert.deepEqual(ids(), ["x"]);
		assert.equal((await catalog.getQueue(env, "k")).stats.depth, 1);
		assert.equal(await consumer.stop(), 1);

		const small = "handoff-env";
		await catalog.updateEnvironment(small, 1);
		const other = startConsumer(queue, small);
		await other.idleAfter(1);
		await queue.enqueue([message("e1", { environmentId: small, queue: "one" })]);
		await queue.enqueue([message("e2", { environmentId: small, queue: "two" })]);
		await other.idleAfter(2);
		assert.deepEqual(
			other.pushed.map((p) => p.message.id),
			["e1"],
		);
		assert.equal((await catalog.getQueue(small, "two")).stats.depth, 1);
		assert.equal(await other.stop(), 1);
	});

	test("a Dequeue that waits takes a message enqueued alone by hand-off, only one it may take, and gives back what reaches it once its caller has gone", async () => {
		const { queue, catalog, clock } = fixture();
		const env = "handoff-dequeue";
		// Counts the delivery scripts and records the takers that begin to wait.
		const counted = { looks: 0 };
		const counting = Object.create(queue) as FairQueue;
		counting.deliver = (request) => {
			counted.looks += 1;
			return queue.deliver(request);
		};
		const takers: HandoffTaker[] = [];
		const add = queue.waiting.add.bind(queue.waiting);
		queue.waiting.add = (environmentIds, taker) => {
			takers.push(taker);
			add(environmentIds, taker);
		};
		// Starts a Dequeue and resolves, once it waits, with its answer still to come.
		const waiting = async (
			request: DeliverRequest,
			waitMs: number,
			signal = new AbortController().signal,
		) => {
			const before = takers.length;
			const answer = dequeueWaiting(counting, request, waitMs, signal);
			await until("the Dequeue to wait", () => {
				const taker = takers[before];
				return taker !== undefined && queue.waiting.isWaiting(env, taker);
			});
			return { answer };
		};
		try {
			const request: DeliverRequest = {
				consumerId: "d1",
				selectors: [{ environmentId: env, queues: ["q"] }],
				max: 5,
				free: { cpu: 1, memoryGb: 2 },
				visibilityMs: 5_000,
			};
			let pending = await waiting(request, 10_000);
			await queue.enqueue([message("h", { environmentId: env })]);
			const got = await pending.answer;
			// Its one delivery script found nothing; the message came with the enqueue.
			assert.equal(counted.looks, 1);
			assert.deepEqual(
				got.deliveries.map((d) => [d.message.id, d.deliveryCount, d.visibleUntil]),
				[["h", 1, clock.now() + 5_000]],
			);
			assert.deepEqual((await catalog.getQueue(env, "q")).stats.inFlight, 1);
			const receipt = (got.deliveries[0] as Delivery).receipt;
			assert.equal((await queue.acknowledge("d1", [{ receipt, reason: 1, detail: "" }])).acknowledged, 1);

			// Another queue, or more than its free resources: stored ready, the wait goes on.
			pending = await waiting(request, 10_000);
			const looks = counted.looks;
			await queue.enqueue([message("elsewhere", { environmentId: env, queue: "other" })]);
			await queue.enqueue([message("big", { environmentId: env, resources: { cpu: 2, memoryGb: 1 } })]);
			// Woken by each, it looked again and found nothing it may take. Behind big, a
			// message that fits is not handed over: the delivery script passes big over.
			await until("two more looks", () => counted.looks >= looks + 2);
			await queue.enqueue([message("small", { environmentId: env })]);
			assert.deepEqual(
				(await pending.answer).deliveries.map((d) => d.message.id),
				["small"],
			);
			assert.ok(counted.looks >= looks + 3);
			assert.deepEqual(
				[(await catalog.getQueue(env, "other")).stats.depth, (await catalog.getQueue(env, "q")).stats.depth],
				[1, 1],
			);

			// Two Dequeues waiting: each takes one of two messages, with no delivery script.
			const onT = { ...request, selectors: [{ environmentId: env, queues: ["t"] }], free: undefined };
			const first = await waiting({ ...onT, consumerId: "d2" }, 10_000);
			const second = await waiting({ ...onT, consumerId: "d3" }, 10_000);
			const twoLooks = counted.looks;
			await queue.enqueue([message("t1", { environmentId: env, queue: "t" })]);
			await queue.enqueue([message("t2", { environmentId: env, queue: "t" })]);
			const [one, two] = [await first.answer, await second.answer];
			assert.equal(counted.looks, twoLooks);
			assert.deepEqual(
				[one.deliveries.map((d) => d.message.id), two.deliveries.map((d) => d.message.id)],
				[["t1"], ["t2"]],
			);
			assert.equal((await catalog.getQueue(env, "t")).stats.inFlight, 2);

			// Once a Dequeue has answered, a message enqueued is not handed to it.
			const short = await dequeueWaiting(counting, onT, 30, new AbortController().signal);
			assert.deepEqual(short.deliveries, []);
			await queue.enqueue([message("t3", { environmentId: env, queue: "t" })]);
			assert.deepEqual((await catalog.getQueue(env, "t")).stats.depth, 1);

			// A reservation still out when the wait runs out is waited for: the Dequeue
			// answers with what is handed over, not leaving it in flight to nobody.
			const onU = { ...onT, consumerId: "d4", selectors: [{ environmentId: env, queues: ["u"] }] };
			const late = await waiting(onU, 300);
			const taker = takers.at(-1) as HandoffTaker;
			assert.deepEqual(taker.reserve(env, "u", { cpu: 0, memoryGb: 0 }), {
				consumerId: "d4",
				visibilityMs: 5_000,
			});
			await sleep(450);
			const handed = { ...(one.deliveries[0] as Delivery), receipt: "late" };
			taker.settle(handed, { cpu: 0, memoryGb: 0 });
			assert.deepEqual((await late.answer).deliveries, [handed]);

			// A script that fails gives the reservation back: the next message is handed over.
			const onV = { ...onT, consumerId: "d5", selectors: [{ environmentId: env, queues: ["v"] }] };
			const failing = await waiting(onV, 10_000);
			const meta = `${environmentBase(queue.resources.namespace, env)}q|v|meta`;
			await queue.resources.redis.set(meta, "not a hash");
			await assert.rejects(queue.enqueue([message("v1", { environmentId: env, queue: "v" })]), /WRONGTYPE/);
			await queue.resources.redis.del(meta);
			const looksBefore = counted.looks;
			await queue.enqueue([message("v2", { environmentId: env, queue: "v" })]);
			assert.deepEqual(
				(await failing.answer).deliveries.map((d) => d.message.id),
				["v2"],
			);
			assert.equal(counted.looks, looksBefore);

			// A caller gone (cancelled, past its deadline) is answered with nothing, and
			// what was handed to it meanwhile goes back at once, not at its visibility timeout.
			await queue.enqueue([message("w1", { environmentId: env, queue: "w" })]);
			const inFlight = await queue.deliver({
				...onT,
				consumerId: "d6",
				selectors: [{ environmentId: env, queues: ["w"] }],
			});
			assert.deepEqual((await catalog.getQueue(env, "w")).stats.inFlight, 1);
			const gone = new AbortController();
			const leaving = await waiting(
				{ ...onT, consumerId: "d6", selectors: [{ environmentId: env, queues: ["x"] }] },
				10_000,
				gone.signal,
			);
			const leaver = takers.at(-1) as HandoffTaker;
			assert.ok(leaver.reserve(env, "x", { cpu: 0, memoryGb: 0 }));
			gone.abort();
			await sleep(20);
			leaver.settle(inFlight.deliveries[0], { cpu: 0, memoryGb: 0 });
			assert.deepEqual((await leaving.answer).deliveries, []);
			// Gone with nothing on its way: answered at once, with no delivery script run for it.
			const goneToo = new AbortController();
			const idle = await waiting(
				{ ...onT, consumerId: "d7", selectors: [{ environmentId: env, queues: ["y"] }] },
				10_000,
				goneToo.signal,
			);
			const looksAtLeaving = counted.looks;
			goneToo.abort();
			assert.deepEqual((await idle.answer).deliveries, []);
			assert.equal(counted.looks, looksAtLeaving);
			const back = (await catalog.getQueue(env, "w")).stats;
			assert.deepEqual([back.depth, back.inFlight], [1, 0]);
		} finally {
			queue.waiting.add = add;
		}
	});

	test("a hand-off sets its credit and the message's needs aside until it settles", () => {
		const { queue } = fixture();
		const session = new ConsumerSession({
			queue,
			consumerId: "c-aside",
			selectors: [{ environmentId: "aside", queues: ["q"] }],
			free: { cpu: 2, memoryGb: 4 },
			push: async () => {},
			maxBatch: 10,
			idleRecheckMs: 60_000,
			telemetry: false,
			spanPeriodMs: 1_000,
		});
		session.addCredits(3);
		const big = { cpu: 1.5, memoryGb: 1 };
		assert.deepEqual(session.reserve("aside", "q", big), {
			consumerId: "c-aside",
			free: { cpu: 2, memoryGb: 4 },
		});
		// Not a queue it reads, or more than is left free while big is being handed over.
		assert.equal(session.reserve("aside", "other", { cpu: 0, memoryGb: 0 }), undefined);
		assert.equal(session.reserve("aside", "q", { cpu: 1, memoryGb: 1 }), undefined);
		assert.deepEqual(session.reserve("aside", "q", { cpu: 0.5, memoryGb: 1 })?.free, {
			cpu: 0.5,
			memoryGb: 3,
		});
		// big was not handed over: its cpu is free again, and its credit back.
		session.settle(undefined, big);
		assert.deepEqual(session.reserve("aside", "q", { cpu: 1, memoryGb: 1 })?.free, { cpu: 1.5, memoryGb: 3 });
		assert.deepEqual(session.reserve("aside", "q", { cpu: 0, memoryGb: 0 })?.free, { cpu: 0.5, memoryGb: 2 });
		// Three credits, four reservations, one given back: none left.
		assert.equal(session.reserve("aside", "q", { cpu: 0, memoryGb: 0 }), undefined);
	});

	test("ten waiting consumers and messages enqueued one at a time never exceed the limits", async () => {
		const { queue, catalog } = fixture();
		const env = "handoff-limits";
		// Each limit binds: q1's two keys of one slot each hold it below its 3, and the
		// environment's 4 is below what q1 and q2 could take together.
		await catalog.updateEnvironment(env, 4);
		await catalog.updateQueue(env, "q1", { concurrencyLimit: 3, concurrencyKeyLimit: 1, maxNacks: 1000 });
		await catalog.updateQueue(env, "q2", { concurrencyLimit: 3, maxNacks: 1000 });
		const total = 120;
		const held = new Map<string, Delivery>();
		let acked = 0;
		let peak = 0;
		let seed = 11;
		const random = () => {
			seed = (seed * 16807) % 2147483647;
			return seed / 2147483647;
		};
		const violations: string[] = [];
		const check = () => {
			peak = Math.max(peak, held.size);
			const count = (pick: (d: Delivery) => boolean) => [...held.values()].filter(pick).length;
			if (held.size > 4) violations.push(`environment ${held.size} > 4`);
			for (const q of ["q1", "q2"]) {
				const n = count((d) => d.message.queue === q);
				if (n > 3) violations.push(`${q} ${n} > 3`);
			}
			for (const k of ["k0", "k1"]) {
				const n = count((d) => d.message.concurrencyKey === k);
				if (n > 1) violations.push(`key ${k} ${n} > 1`);
			}
		};
		const consumers = Array.from({ length: 10 }, (_, c) => {
			const consumerId = `hl${c}`;
			const consumer = startConsumer(queue, env, {
				consumerId,
				credits: 2,
				onPush: (d) => {
					if (held.has(d.message.id)) violations.push(`${d.message.id} delivered twice at once`);
					held.set(d.message.id, d);
					check();
					// Settled a little later (long enough for the limits to fill), in any order;
					// a fifth are nacked back.
					setTimeout(
						async () => {
							held.delete(d.message.id);
							if (random() < 0.8) {
								const r = await queue.acknowledge(consumerId, [
									{ receipt: d.receipt, reason: 1, detail: "" },
								]);
								acked += r.acknowledged;
								consumer.session.settled([d.receipt], "acknowledged");
							} else {
								await queue.nack(consumerId, [{ receipt: d.receipt, detail: "" }]);
								consumer.session.settled([d.receipt], "nacked");
							}
							consumer.session.addCredits(1);
						},
						3 + Math.floor(random() * 10),
					);
				},
			});
			return consumer;
		});
		await Promise.all(consumers.map((c) => c.idleAfter(1)));
		for (let i = 0; i < total; i += 4) {
			// Four producers at once, each sending one message per request, a little
			// slower than the consumers settle, so queues are often empty when one comes.
			await sleep(1);
			await Promise.all(
				[0, 1, 2, 3].map((k) =>
					queue.enqueue([
						message(`m${i + k}`, {
							environmentId: env,
							queue: (i + k) % 2 === 0 ? "q1" : "q2",
							concurrencyKey: (i + k) % 2 === 0 ? `k${((i + k) / 2) % 2}` : "",
						}),
					]),
				),
			);
		}
		await until(`${total} acknowledgements`, () => acked === total);
		for (const c of consumers) await c.stop();
		assert.deepEqual(violations, []);
		assert.ok(peak >= 3, `peak in flight ${peak}`);
		const listed = await catalog.listQueues(env, 10, "");
		assert.equal(listed.environmentInFlight, 0);
		assert.deepEqual(
			listed.queues.map((q) => [q.name, q.stats.depth, q.stats.inFlight, q.stats.acknowledgements.get(1)]),
			[
				["q1", 0, 0, 60],
				["q2", 0, 0, 60],
			],
		);
	});
}
