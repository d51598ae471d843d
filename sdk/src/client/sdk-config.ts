import { type Clients, createClients } from "./clients.js";
import type { ClientConfig } from "./config.js";
import { configFromEnv } from "./config.js";

// The SDK's one piece of process state: the config chosen by configure(). It hangs
// off globalThis so two copies of the SDK loaded by different paths (a project and
// the worker that imports it) still share it.
const SLOT = Symbol.for("taskmesh.sdk.clients");

interface ClientSlot {
	config?: ClientConfig;
	clients?: Clients;
}

function slot(): ClientSlot {
	const holder = globalThis as unknown as Record<symbol, ClientSlot | undefined>;
	let found = holder[SLOT];
	if (found === undefined) {
		found = {};
		holder[SLOT] = found;
	}
	return found;
}

/**
 * Chooses where the SDK sends its calls: `{ url, apiKey }` for the gateway, or
 * `{ services: { scheduler, queue, batch, logs, telemetry }, environmentId }` to
 * call the services directly. Without it, TASKMESH_URL / TASKMESH_API_KEY or the
 * TASKMESH_<SERVICE>_URL variables are used.
 */
export function configure(config: ClientConfig): void {
	const s = slot();
	s.config = config;
	s.clients = createClients(config);
}

/** The clients of the configured (or environment-described) platform. */
export function sdkClients(): Clients {
	const s = slot();
	if (s.clients === undefined) {
		s.config = configFromEnv();
		s.clients = createClients(s.config);
	}
	return s.clients;
}

/** The config in force, as configure() or the environment set it. */
export function sdkConfig(): ClientConfig {
	sdkClients();
	return slot().config as ClientConfig;
}
