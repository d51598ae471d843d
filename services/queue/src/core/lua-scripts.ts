import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RedisClient } from "../../../kit/src/index.js";

const here = join(dirname(fileURLToPath(import.meta.url)), "lua");

/** The script files (each `<command>-1.lua`, one key: the environment base). */
const SCRIPTS = {
	tmEnqueue: "enqueue-1.lua",
	tmDeliver: "deliver-1.lua",
	tmAcknowledge: "acknowledge-1.lua",
	tmNack: "nack-1.lua",
	tmHeartbeat: "heartbeat-1.lua",
	tmRelease: "release-1.lua",
	tmReclaim: "reclaim-1.lua",
	tmUpdateQueue: "update-queue-1.lua",
	tmQueueStats: "queue-stats-1.lua",
	tmRedrive: "redrive-1.lua",
	tmDeadLetters: "dead-letters-1.lua",
} as const;

type Arg = string | number | Buffer;
type Command = (base: string, ...args: Arg[]) => Promise<unknown>;

/** The queue's scripts as commands of a client; `...Buffer` variants return raw bytes. */
export type QueueCommands = { [K in keyof typeof SCRIPTS]: Command } & {
	tmEnqueueBuffer: Command;
	tmDeliverBuffer: Command;
	tmDeadLettersBuffer: Command;
};

const INCLUDE = /^-- @include "([a-z-]+)"$/m;

/** Reads a script and inlines its `-- @include "<name>"` lines from includes/. */
export function readScript(file: string): string {
	let source = readFileSync(join(here, file), "utf8");
	for (let match = INCLUDE.exec(source); match !== null; match = INCLUDE.exec(source)) {
		const included = readFileSync(join(here, "includes", `${match[1]}.lua`), "utf8");
		source = source.replace(match[0], included);
	}
	return source;
}

const defined = new WeakSet<object>();

/** Defines every queue script on the client (once per client) and returns it typed. */
export function queueCommands(redis: RedisClient): QueueCommands {
	if (!defined.has(redis)) {
		for (const [name, file] of Object.entries(SCRIPTS)) {
			redis.defineCommand(name, { numberOfKeys: 1, lua: readScript(file) });
		}
		defined.add(redis);
	}
	return redis as unknown as QueueCommands;
}
