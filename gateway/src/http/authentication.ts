import type { Interceptor } from "@connectrpc/connect";
import { ServiceError } from "../../../services/kit/src/index.js";
import { looksLikeKey } from "../core/api-key-format.js";
import type { ApiKeyStore } from "../core/api-key-store.js";
import type { KeyRateLimiter, RateLimit } from "../core/rate-limiter.js";
import { grantKey } from "./call-context.js";
import { toConnectError } from "./connect-errors.js";

/** What the authentication interceptor needs. */
export interface AuthenticationOptions {
	keys: ApiKeyStore;
	limiter: KeyRateLimiter;
	/** The limit of keys without their own. */
	defaultLimit: RateLimit;
}

/**
 * Authenticates every call by its `Authorization: Bearer <key>` header, takes a
 * token from the key's rate-limit bucket and records the key's grant in the
 * call's context values for the forwarding handler.
 */
export function authentication(options: AuthenticationOptions): Interceptor {
	return (next) => async (request) => {
		try {
			const key = bearerKey(request.header.get("authorization"));
			const grant = await storeCall("API keys", () => options.keys.authenticate(key));
			if (grant === undefined) {
				throw new ServiceError("UNAUTHENTICATED", "the API key is unknown or revoked", {
					reason: "API_KEY_INVALID",
				});
			}
			const limit = {
				perSecond: grant.ratePerSecond ?? options.defaultLimit.perSecond,
				burst: grant.rateBurst ?? options.defaultLimit.burst,
			};
			const decision = await storeCall("rate limiter", () => options.limiter.take(grant.keyId, limit));
			if (!decision.allowed) {
				throw new ServiceError(
					"RESOURCE_EXHAUSTED",
					`rate limit of ${limit.perSecond} calls per second (burst ${limit.burst}) reached for this API key; retry in ${decision.retryAfterMs} ms`,
					{ reason: "RATE_LIMITED", retryAfterMs: decision.retryAfterMs },
				);
			}
			request.contextValues.set(grantKey, grant);
		} catch (error) {
			throw toConnectError(error);
		}
		return next(request);
	};
}

function bearerKey(header: string | null): string {
	if (header === null || header.trim() === "") {
		throw new ServiceError(
			"UNAUTHENTICATED",
			"missing API key: send the header Authorization: Bearer <key>",
			{
				reason: "API_KEY_MISSING",
			},
		);
	}
	const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
	if (match === null) {
		throw new ServiceError("UNAUTHENTICATED", "the Authorization header must be Bearer <key>", {
			reason: "API_KEY_MISSING",
		});
	}
	const key = match[1] as string;
	// A value that cannot be a key is refused without a lookup.
	if (!looksLikeKey(key)) {
		throw new ServiceError("UNAUTHENTICATED", "the API key is unknown or revoked", {
			reason: "API_KEY_INVALID",
		});
	}
	return key;
}

// A store that fails says nothing about the caller: the call is refused as
// UNAVAILABLE (retryable), never let through unchecked.
async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call();
	} catch (error) {
		throw new ServiceError("UNAVAILABLE", `the gateway's ${what} cannot be reached; retry shortly`, {
			cause: error,
			retryAfterMs: 1_000,
		});
	}
}
