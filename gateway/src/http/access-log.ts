import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { grantKey } from "./call-context.js";

/**
 * One log line per call with its method, environment, code and duration;
 * INTERNAL and UNAVAILABLE are logged with their cause, which the caller never sees.
 */
export function accessLog(logger: Logger): Interceptor {
	return (next) => async (request) => {
		const started = performance.now();
		const line = () => ({
			method: `${request.service.typeName}/${request.method.name}`,
			environment_id: request.contextValues.get(grantKey)?.environmentId,
			key_id: request.contextValues.get(grantKey)?.keyId,
			ms: Math.round(performance.now() - started),
		});
		try {
			const response = await next(request);
			logger.debug({ ...line(), code: "OK" }, "call");
			return response;
		} catch (error) {
			const connectError = ConnectError.from(error);
			if (connectError.code === Code.Internal || connectError.code === Code.Unavailable) {
				logger.error(
					{ ...line(), code: Code[connectError.code], err: connectError.cause ?? error },
					"call failed",
				);
			} else {
				logger.debug({ ...line(), code: Code[connectError.code] }, "call");
			}
			throw error;
		}
	};
}
