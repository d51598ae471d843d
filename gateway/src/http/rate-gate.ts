import { ServiceError } from "../../../services/kit/src/index.js";
import type { KeyGrant } from "../core/api-key-store.js";
import type { KeyRateLimiter, RateLimit } from "../core/rate-limiter.js";
import { storeCall } from "./store-call.js";

/** Takes one token of a key's bucket, or refuses with RESOURCE_EXHAUSTED (reason RATE_LIMITED). */
export type RateGate = (grant: KeyGrant) => Promise<void>;

/** The rate gate over a key's own limit, or the default one. */
export function rateGate(limiter: KeyRateLimiter, defaultLimit: RateLimit): RateGate {
	return async (grant) => {
		const limit = {
			perSecond: grant.ratePerSecond ?? defaultLimit.perSecond,
			burst: grant.rateBurst ?? defaultLimit.burst,
		};
		const decision = await storeCall("rate limiter", () => limiter.take(grant.keyId, limit));
		if (!decision.allowed) {
			throw new ServiceError(
				"RESOURCE_EXHAUSTED",
				`rate limit of ${limit.perSecond} calls per second (burst ${limit.burst}) reached for this API key; retry in ${decision.retryAfterMs} ms`,
				{ reason: "RATE_LIMITED", retryAfterMs: decision.retryAfterMs },
			);
		}
	};
}
