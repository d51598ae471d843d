import type { Redis } from "ioredis";
import type { RedisClient } from "../../../kit/src/index.js";

/** Clients whose socket is corked until the current run of microtasks is over. */
const held = new WeakSet<object>();

/**
 * Holds back a standalone client's socket writes until the microtasks queued
 * now have run, so commands issued together go out in one write. An enqueue
 * wakes this process's consumers as soon as its script is sent, and their
 * delivery script follows within the same run of microtasks: held, both reach
 * Redis in one packet, which reads and answers them together, instead of two
 * writes, two reads and two replies per message at a steady rate. The nextTick
 * that releases the socket runs only once every microtask queued meanwhile has.
 * A cluster client (one socket per node) is left as it is.
 */
export function holdWritesForThisTick(redis: RedisClient): void {
	if (redis.isCluster || redis.status !== "ready" || held.has(redis)) return;
	const socket = (redis as Redis).stream;
	if (socket === undefined || socket.writableCorked > 0) return;
	socket.cork();
	held.add(redis);
	process.nextTick(() => {
		held.delete(redis);
		socket.uncork();
	});
}
