/** Where the SDK sends its calls: the gateway with an API key, or the services directly. */
export type ClientConfig = GatewayConfig | DirectConfig;

/** Through the gateway (Connect); the gateway sets the environment from the API key. */
export interface GatewayConfig {
	/** Gateway base URL, for example "http://127.0.0.1:8080". */
	url: string;
	/** An API key of the environment (sent as `Authorization: Bearer <key>`). */
	apiKey: string;
}

/** Straight to each service over gRPC, as `taskmesh dev` does (no gateway, no key). */
export interface DirectConfig {
	services: ServiceUrls;
	/** The environment every call is made in; "dev" by default. */
	environmentId?: string;
}

/** Base URLs of the services, for example `{ scheduler: "http://127.0.0.1:50052", ... }`. */
export interface ServiceUrls {
	queue: string;
	scheduler: string;
	batch: string;
	logs: string;
	telemetry: string;
}

/** Default ports of the services, as `npm start` binds them. */
export const DEFAULT_SERVICE_URLS: ServiceUrls = {
	queue: "http://127.0.0.1:50051",
	scheduler: "http://127.0.0.1:50052",
	batch: "http://127.0.0.1:50053",
	logs: "http://127.0.0.1:50054",
	telemetry: "http://127.0.0.1:50055",
};

/** Whether a config targets the gateway. */
export function isGateway(config: ClientConfig): config is GatewayConfig {
	return "url" in config;
}

/**
 * The config described by environment variables: TASKMESH_URL + TASKMESH_API_KEY
 * for the gateway, else TASKMESH_<SERVICE>_URL (with the default ports) and
 * TASKMESH_ENVIRONMENT for direct calls.
 */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ClientConfig {
	const url = nonEmpty(env.TASKMESH_URL);
	if (url !== undefined) return { url, apiKey: nonEmpty(env.TASKMESH_API_KEY) ?? "" };
	return {
		services: {
			queue: nonEmpty(env.TASKMESH_QUEUE_URL) ?? DEFAULT_SERVICE_URLS.queue,
			scheduler: nonEmpty(env.TASKMESH_SCHEDULER_URL) ?? DEFAULT_SERVICE_URLS.scheduler,
			batch: nonEmpty(env.TASKMESH_BATCH_URL) ?? DEFAULT_SERVICE_URLS.batch,
			logs: nonEmpty(env.TASKMESH_LOG_INGEST_URL) ?? DEFAULT_SERVICE_URLS.logs,
			telemetry: nonEmpty(env.TASKMESH_TELEMETRY_URL) ?? DEFAULT_SERVICE_URLS.telemetry,
		},
		environmentId: nonEmpty(env.TASKMESH_ENVIRONMENT) ?? "dev",
	};
}

/** The environment id sent in requests: empty through the gateway (it fills it from the key). */
export function environmentOf(config: ClientConfig): string {
	return isGateway(config) ? "" : (config.environmentId ?? "dev");
}

function nonEmpty(value: string | undefined): string | undefined {
	return value === undefined || value.trim() === "" ? undefined : value.trim();
}
