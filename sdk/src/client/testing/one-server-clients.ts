import { type Clients, createClients } from "../clients.js";

/** The SDK's clients with every service at one URL: tests that serve a scripted service there. */
export function oneServerClients(url: string, environmentId: string): Clients {
	return createClients({
		services: { queue: url, scheduler: url, batch: url, logs: url, telemetry: url },
		environmentId,
	});
}
