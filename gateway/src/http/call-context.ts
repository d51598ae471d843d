import { createContextKey } from "@connectrpc/connect";
import type { KeyGrant } from "../core/api-key-store.js";

/** The API key grant of the call, set by the authentication interceptor. */
export const grantKey = createContextKey<KeyGrant | undefined>(undefined, {
	description: "taskmesh api key grant",
});
