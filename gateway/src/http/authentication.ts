import type { Interceptor } from "@connectrpc/connect";
import { ServiceError } from "../../../services/kit/src/index.js";
import { looksLikeKey } from "../core/api-key-format.js";
import type { ApiKeyStore } from "../core/api-key-store.js";
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
			const key = bearerKey(request.header.get("authorization"));
			const grant = await storeCall("API keys", () => options.keys.authenticate(key));
			if (grant === undefined) {
				throw new ServiceError("UNAUTHENTICATED", "the API key is unknown or revoked", {
					reason: "API_KEY_INVALID",
				});
			}
			await options.rateGate(grant);
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
