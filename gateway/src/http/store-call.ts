import { ServiceError } from "../../../services/kit/src/index.js";

/**
 * A store that fails says nothing about the caller: the call is refused as
 * UNAVAILABLE (retryable), never let through unchecked.
 */
export async function storeCall<T>(what: string, call: () => Promise<T>): Promise<T> {
	try {
		return await call();
	} catch (error) {
		throw new ServiceError("UNAVAILABLE", `the gateway's ${what} cannot be reached; retry shortly`, {
			cause: error,
			retryAfterMs: 1_000,
		});
	}
}
