import type { Server } from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";

/**
 * grpc.health.v1 for a server: one status per service plus the overall status
 * (the empty service name). Check and Watch come from grpc-health-check.
 */
export class HealthReporter {
	private readonly health: HealthImplementation;
	private readonly serviceNames: string[];

	constructor(serviceNames: string[]) {
		this.serviceNames = serviceNames;
		this.health = new HealthImplementation({ "": "NOT_SERVING" });
		for (const name of serviceNames) this.health.setStatus(name, "NOT_SERVING");
	}

	addToServer(server: Server): void {
		this.health.addToServer(server);
	}

	/** Sets every service and the overall status at once. */
	setAll(status: ServingStatus): void {
		for (const name of this.serviceNames) this.health.setStatus(name, status);
		this.health.setStatus("", status);
	}

	/** Sets one service's status. */
	set(serviceName: string, status: ServingStatus): void {
		this.health.setStatus(serviceName, status);
	}
}
