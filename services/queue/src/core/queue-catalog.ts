import { ServiceError } from "../../../kit/src/index.js";
import { num, storedMessage, text } from "./message-codec.js";
import { commandsOf, environmentBase, type QueueContext } from "./queue-context.js";
import type { DeadLetter, QueueChanges, QueueInfo } from "./types.js";

type Raw = Buffer | number | string | null;

/** Pages of lists are keyed by the last name or position seen. */
export interface Page<T> {
	items: T[];
	nextPageToken: string;
}

/**
 * Queue settings, statistics, dead letters and redrive: the control side of
 * the queue, next to FairQueue's delivery side, over the same keys.
 */
export class QueueCatalog {
	private readonly context: QueueContext;

	constructor(context: QueueContext) {
		this.context = context;
	}

	/** One queue; NOT_FOUND when it never held a message nor was configured. */
	async getQueue(environmentId: string, queue: string): Promise<QueueInfo> {
		const [info] = await this.describe(environmentId, [queue]);
		if (info === undefined) {
			throw new ServiceError("NOT_FOUND", `queue "${queue}" of environment "${environmentId}" was not found`);
		}
		return info;
	}

	/** A page of an environment's queues by name, with the environment's limit and in-flight count. */
	async listQueues(environmentId: string, pageSize: number, pageToken: string) {
		const base = environmentBase(this.context.namespace, environmentId);
		const start = pageToken === "" ? "-" : `(${pageToken}`;
		const names = await this.context.redis.zrangebylex(`${base}queues`, start, "+", "LIMIT", 0, pageSize + 1);
		const page = names.slice(0, pageSize);
		const queues = page.length === 0 ? [] : await this.describe(environmentId, page);
		const [limit, inFlight] = await this.context.redis.hmget(`${base}env`, "lim", "inflight");
		return {
			queues,
			nextPageToken: names.length > pageSize ? (page[page.length - 1] ?? "") : "",
			environmentConcurrencyLimit: Number(limit ?? 0),
			environmentInFlight: Math.max(0, Number(inFlight ?? 0)),
		};
	}

	/** Applies changes (creating the queue when needed) and returns the queue after them. */
	async updateQueue(environmentId: string, queue: string, changes: QueueChanges): Promise<QueueInfo> {
		const fields: Array<string | number> = [];
		if (changes.paused !== undefined) fields.push("paused", changes.paused ? 1 : 0);
		if (changes.concurrencyLimit !== undefined) fields.push("lim", changes.concurrencyLimit);
		if (changes.concurrencyKeyLimit !== undefined) fields.push("klim", changes.concurrencyKeyLimit);
		if (changes.maxNacks !== undefined) fields.push("maxn", changes.maxNacks);
		if (changes.visibilityTimeoutMs !== undefined) fields.push("vt", changes.visibilityTimeoutMs);
		const base = environmentBase(this.context.namespace, environmentId);
		await commandsOf(this.context).tmUpdateQueue(base, queue, ...fields);
		// Resuming or raising a limit can make messages deliverable now.
		this.context.wake.notify(environmentId);
		return this.getQueue(environmentId, queue);
	}

	/** Sets the limit shared by every queue of an environment (0: none). */
	async updateEnvironment(environmentId: string, concurrencyLimit: number): Promise<number> {
		const base = environmentBase(this.context.namespace, environmentId);
		await this.context.redis.hset(`${base}env`, "lim", concurrencyLimit);
		this.context.wake.notify(environmentId);
		return concurrencyLimit;
	}

	/** A page of a queue's dead letters, oldest first; the token is the next offset. */
	async listDeadLetters(
		environmentId: string,
		queue: string,
		pageSize: number,
		pageToken: string,
	): Promise<Page<DeadLetter>> {
		const offset = pageToken === "" ? 0 : Number(pageToken);
		const base = environmentBase(this.context.namespace, environmentId);
		const reply = (await commandsOf(this.context).tmDeadLettersBuffer(base, queue, offset, pageSize)) as [
			Raw[],
			number,
		];
		const flat = reply[0];
		const items: DeadLetter[] = [];
		for (let o = 0; o < flat.length; o += 9) {
			items.push({
				message: storedMessage(
					environmentId,
					text(flat[o]),
					queue,
					text(flat[o + 1]),
					flat[o + 2] ?? null,
					flat[o + 3] ?? null,
					num(flat[o + 4]),
					num(flat[o + 5]),
				),
				reason: num(flat[o + 6]),
				detail: text(flat[o + 7]),
				deadLetteredAt: num(flat[o + 8]),
			});
		}
		return { items, nextPageToken: reply[1] === 1 ? String(offset + pageSize) : "" };
	}

	/** Puts dead letters back (the given ids, or the oldest up to limit); returns how many. */
	async redrive(environmentId: string, queue: string, messageIds: string[], limit: number): Promise<number> {
		const base = environmentBase(this.context.namespace, environmentId);
		const moved = (await commandsOf(this.context).tmRedrive(
			base,
			this.context.clock.now(),
			queue,
			limit,
			messageIds.length,
			...messageIds,
		)) as string[];
		if (moved.length > 0) this.context.wake.notify(environmentId);
		return moved.length;
	}

	private async describe(environmentId: string, queues: string[]): Promise<QueueInfo[]> {
		const { namespace, clock, defaults } = this.context;
		const base = environmentBase(namespace, environmentId);
		const reply = (await commandsOf(this.context).tmQueueStats(base, queues.length, ...queues)) as Raw[][];
		const now = clock.now();
		const out: QueueInfo[] = [];
		queues.forEach((name, i) => {
			const r = reply[i] as Raw[];
			if (num(r[0]) !== 1) return;
			const acks = new Map<number, number>();
			const flat = (r[11] ?? []) as unknown as Raw[];
			for (let k = 0; k < flat.length; k += 2) acks.set(num(flat[k]), num(flat[k + 1]));
			const oldest = num(r[10]);
			const limit = text(r[2]) === "" ? defaults.concurrencyLimit : num(r[2]);
			out.push({
				environmentId,
				name,
				settings: {
					paused: text(r[1]) === "1",
					concurrencyLimit: limit,
					concurrencyKeyLimit: num(r[3]),
					maxNacks: text(r[4]) === "" ? defaults.maxNacks : num(r[4]),
					visibilityTimeoutMs: text(r[5]) === "" ? defaults.visibilityTimeoutMs : num(r[5]),
				},
				stats: {
					depth: num(r[8]) + num(r[7]),
					inFlight: Math.max(0, num(r[6])),
					delayed: num(r[7]),
					deadLettered: num(r[9]),
					oldestAgeMs: oldest === 0 ? 0 : Math.max(0, now - oldest),
					acknowledgements: acks,
				},
			});
		});
		return out;
	}
}
