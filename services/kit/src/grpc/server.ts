import type { Http2Server, ServerHttp2Session } from "node:http2";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { type CallGate, grpcHandlers } from "./handlers.js";
import { HealthReporter } from "./health.js";
import type { ServiceRegistration } from "./implementation.js";
import { addReflection } from "./reflection.js";
import { grpcServiceDefinition } from "./service-definition.js";

/** Transport settings of a gRPC server. */
export interface GrpcServerOptions {
	host: string;
	/** 0 picks a free port. */
	port: number;
	services: ServiceRegistration[];
	logger: Logger;
	maxReceiveMessageBytes?: number;
	maxSendMessageBytes?: number;
	keepaliveTimeMs?: number;
	keepaliveTimeoutMs?: number;
	/** How long a drain waits for calls in flight before cancelling them. */
	drainTimeoutMs?: number;
	/** HTTP/2 receive windows larger than the protocol's 64 KiB (see ReceiveWindows). */
	receiveWindows?: ReceiveWindows;
}

/**
 * How much a client may send before the server has read it, per stream and per
 * connection. HTTP/2 starts both at 64 KiB: a 1 MiB upload then moves in 64 KiB
 * steps, each waiting for the server to read and grant more, which bounded log
 * ingest far below what PostgreSQL could take. Larger windows let a stream's
 * next frames arrive while the server stores the last; the memory a stream can
 * hold ahead of its reader is at most its window.
 */
export interface ReceiveWindows {
	streamBytes: number;
	connectionBytes: number;
}

/**
 * One grpc-js server serving taskmesh services with health and reflection. It
 * drains gracefully: health turns NOT_SERVING, new calls are refused with
 * UNAVAILABLE, calls in flight finish (up to the drain timeout), then it stops.
 */
export class GrpcServiceHost implements CallGate {
	readonly health: HealthReporter;
	private readonly server: Server;
	private readonly options: GrpcServerOptions;
	private readonly active = new Set<() => void>();
	/** No new calls are taken (draining or stopped). */
	private stopping = false;
	private readonly drainBegun = new AbortController();
	private idleWaiters: Array<() => void> = [];
	private boundPort = 0;

	private constructor(options: GrpcServerOptions) {
		this.options = options;
		this.server = new Server({
			"grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
			"grpc.max_send_message_length": options.maxSendMessageBytes ?? 16 * 1024 * 1024,
			"grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 30_000,
			"grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? 10_000,
			// Clients that ping to keep streams alive are welcome as often as every 5 s.
			"grpc.http2.min_ping_interval_without_data_ms": 5_000,
			"grpc.keepalive_permit_without_calls": 1,
		});
		this.health = new HealthReporter(options.services.map((s) => s.service.typeName));
		this.health.addToServer(this.server);
		addReflection(
			this.server,
			options.services.map((s) => s.service),
		);
		for (const registration of options.services) {
			this.server.addService(
				grpcServiceDefinition(registration.service, registration.codecs),
				grpcHandlers(registration, { logger: options.logger, gate: this }),
			);
		}
	}

	/** Binds the port and reports SERVING. */
	static async start(options: GrpcServerOptions): Promise<GrpcServiceHost> {
		const host = new GrpcServiceHost(options);
		host.boundPort = await new Promise<number>((resolve, reject) => {
			host.server.bindAsync(
				`${formatHost(options.host)}:${options.port}`,
				ServerCredentials.createInsecure(),
				(error, port) => (error ? reject(error) : resolve(port)),
			);
		});
		if (options.receiveWindows !== undefined) host.widenReceiveWindows(options.receiveWindows);
		host.health.setAll("SERVING");
		options.logger.info(
			{ port: host.boundPort, services: options.services.map((s) => s.service.typeName) },
			"gRPC server listening",
		);
		return host;
	}

	/**
	 * grpc-js has no server option for HTTP/2 windows (its client has
	 * grpc-node.flow_control_window), so each new session is given them through
	 * Node's own API: SETTINGS for the stream window, setLocalWindowSize for the
	 * connection. The HTTP/2 servers are reached through grpc-js's private map
	 * (pinned version); if a later version moves it, the defaults stay and a
	 * warning says so.
	 */
	private widenReceiveWindows(windows: ReceiveWindows): void {
		const servers = (this.server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
		if (!(servers instanceof Map) || servers.size === 0) {
			this.options.logger.warn(
				"HTTP/2 receive windows left at their defaults: grpc-js's servers were not found",
			);
			return;
		}
		for (const http2Server of servers.keys()) {
			http2Server.on("session", (session: ServerHttp2Session) => {
				session.settings({ initialWindowSize: windows.streamBytes });
				session.setLocalWindowSize(windows.connectionBytes);
			});
		}
	}

	/** The port actually bound. */
	get port(): number {
		return this.boundPort;
	}

	/** The address clients use, for example "http://127.0.0.1:50051". */
	get url(): string {
		const host =
			this.options.host === "0.0.0.0" || this.options.host === "::" ? "127.0.0.1" : this.options.host;
		return `http://${formatHost(host)}:${this.boundPort}`;
	}

	/** Number of taskmesh calls being served now (health and reflection excluded). */
	get callsInFlight(): number {
		return this.active.size;
	}

	/** Aborted when the drain begins (CallContext.draining). */
	get draining(): AbortSignal {
		return this.drainBegun.signal;
	}

	enter(stop: () => void): boolean {
		if (this.stopping) return false;
		this.active.add(stop);
		return true;
	}

	leave(stop: () => void): void {
		this.active.delete(stop);
		if (this.active.size === 0) {
			for (const wake of this.idleWaiters.splice(0)) wake();
		}
	}

	/**
	 * Drains and stops: NOT_SERVING at once, new calls refused, calls in flight
	 * given up to the drain timeout, then every connection closed.
	 */
	async drain(): Promise<void> {
		if (!this.stopping) {
			this.stopping = true;
			this.drainBegun.abort();
			this.health.setAll("NOT_SERVING");
			this.options.logger.info({ inFlight: this.active.size }, "draining gRPC server");
		}
		const deadline = Date.now() + (this.options.drainTimeoutMs ?? 25_000);
		if (this.active.size > 0) {
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, deadline - Date.now());
				this.idleWaiters.push(() => {
					clearTimeout(timer);
					resolve();
				});
			});
		}
		if (this.active.size > 0) {
			this.options.logger.warn({ inFlight: this.active.size }, "drain timed out; stopping calls in flight");
			for (const stop of [...this.active]) stop();
		}
		// Our calls are done (or were stopped). tryShutdown lets their last
		// responses flush; health Watch streams never end on their own, so after
		// a short grace whatever is left is closed.
		const graceMs = FLUSH_GRACE_MS;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(() => {
				this.server.forceShutdown();
				resolve();
			}, graceMs);
			this.server.tryShutdown(() => {
				clearTimeout(timer);
				resolve();
			});
		});
		this.options.logger.info("gRPC server stopped");
	}

	/** Stops at once, cancelling calls in flight (tests and fatal errors). */
	forceStop(): void {
		this.stopping = true;
		this.drainBegun.abort();
		this.server.forceShutdown();
	}
}

/** Longest wait for last responses to flush once no call is in flight. */
const FLUSH_GRACE_MS = 1_000;

function formatHost(host: string): string {
	return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}
