import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
	Health,
	HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../gen/grpc/health/v1/health_pb.js";
import type { Backend } from "./public-surface.js";

/** The health of every backend service, as /healthz reports it. */
export interface HealthReport {
	status: "SERVING" | "NOT_SERVING";
	services: Record<string, string>;
}

/** Asks each backend's grpc.health.v1.Health for its overall status. */
export class ServiceHealth {
	private readonly clients: Array<[Backend, Client<typeof Health>]>;
	private readonly timeoutMs: number;

	constructor(options: { transports: Record<Backend, Transport>; timeoutMs?: number }) {
		this.clients = (Object.entries(options.transports) as Array<[Backend, Transport]>).map(
			([backend, transport]) => [backend, createClient(Health, transport)],
		);
		this.timeoutMs = options.timeoutMs ?? 2_000;
	}

	/** Checks all backends at once; one that does not answer in time is NOT_SERVING. */
	async check(): Promise<HealthReport> {
		const results = await Promise.all(
			this.clients.map(async ([backend, client]) => {
				try {
					const response = await client.check({ service: "" }, { timeoutMs: this.timeoutMs });
					return [backend, ServingStatus[response.status]] as const;
				} catch {
					return [backend, "UNREACHABLE"] as const;
				}
			}),
		);
		const services = Object.fromEntries(results);
		const serving = results.every(([, status]) => status === "SERVING");
		return { status: serving ? "SERVING" : "NOT_SERVING", services };
	}
}
