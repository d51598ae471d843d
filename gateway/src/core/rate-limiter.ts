import { readFileSync } from "node:fs";
import type { RedisClient } from "../../../services/kit/src/index.js";

const takeTokenScript = readFileSync(new URL("./take-token-1.lua", import.meta.url), "utf8");

/** A bucket's size and refill rate. */
export interface RateLimit {
	perSecond: number;
	burst: number;
}

/** The outcome of one call's token. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

type WithTakeToken = RedisClient & {
	gatewayTakeToken(bucket: string, perSecond: number, burst: number): Promise<[number, number]>;
};

/**
 * A token bucket per API key, kept in Redis so that every gateway replica
 * counts against the same bucket.
 */
export class KeyRateLimiter {
	private readonly redis: WithTakeToken;
	private readonly namespace: string;

	constructor(options: { redis: RedisClient; namespace: string }) {
		if (!("gatewayTakeToken" in options.redis)) {
			options.redis.defineCommand("gatewayTakeToken", { numberOfKeys: 1, lua: takeTokenScript });
		}
		this.redis = options.redis as WithTakeToken;
		this.namespace = options.namespace;
	}

	/** Takes one token of the key's bucket, or says how long until one is free. */
	async take(keyId: string, limit: RateLimit): Promise<RateDecision> {
		const [allowed, waitMs] = await this.redis.gatewayTakeToken(
			`${this.namespace}:rate:${keyId}`,
			limit.perSecond,
			limit.burst,
		);
		return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: waitMs };
	}
}
