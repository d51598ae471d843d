import type { Interceptor } from "@connectrpc/connect";
import { ServiceError } from "../../../services/kit/src/index.js";
import { looksLikeKey } from "../core/api-key-format.js";
import type { ApiKeyStore, KeyGrant } from "../core/api-key-store.js";
import { grantKey } from "./call-context.js";
import { toConnectError } from "./connect-errors.js";
import type { RateGate } from "./rate-gate.js";
import { storeCall } from "./store-call.js";

/** What the authentication interceptor needs. */
export interface AuthenticationOptions {
	keys: ApiKeyStore;
	/** Takes the call's token from the key's rate-limit bucket. */
	rateGate: RateGate;
}

/**
 * Authenticates every call by its `Authorization: Bearer <key>` header, takes a
 * token from the key's rate-limit bucket and records the key's grant in the
 * call's context values for the forwarding handler.
 */
export function authentication(options: AuthenticationOptions): Interceptor {
	return (next) => async (request) => {
		try {
			const grant = await liveGrant(options.keys, request.header.get("authorization"));
			await options.rateGate(grant);
			request.contextValues.set(grantKey, grant);
		} catch (error) {
			throw toConnectError(error);
		}
		return next(request);
	};
}

/**
 * The grant of the call's key, if it is live now; UNAUTHENTICATED otherwise. Asked at
 * a call's start, and again by each request of a bidirectional stream after the first
 * (a cache hit unless the key was revoked, which empties the cache at once).
 */
export async function liveGrant(keys: ApiKeyStore, authorization: string | null): Promise<KeyGrant> {
	const key = bearerKey(authorization);
	const grant = await storeCall("API keys", () => keys.authenticate(key));
	if (grant === undefined) {
		throw new ServiceError("UNAUTHENTICATED", "the API key is unknown or revoked", {
			reason: "API_KEY_INVALID",
		});
	}
	return grant;
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
