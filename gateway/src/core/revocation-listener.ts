import pg from "pg";
import type { Logger } from "pino";

/** The PostgreSQL channel a revocation is announced on (database-wide). */
export const REVOCATION_CHANNEL = "taskmesh_gateway_key_revoked";

/**
 * Listens for key revocations (NOTIFY from any process, the keys CLI included)
 * so a gateway drops its cached grants at once instead of after
 * GATEWAY_KEY_CACHE_MS. While the connection is down, every notification may
 * have been missed, so the cache is dropped then too, and the connection is
 * opened again.
 */
export class RevocationListener {
	private readonly url: string;
	private readonly onRevoked: (keyId: string | undefined) => void;
	private readonly logger: Logger | undefined;
	private client: pg.Client | undefined;
	private closed = false;
	private retry: NodeJS.Timeout | undefined;

	constructor(options: { url: string; onRevoked: (keyId: string | undefined) => void; logger?: Logger }) {
		this.url = options.url;
		this.onRevoked = options.onRevoked;
		this.logger = options.logger;
	}

	/** Connects and listens; resolves once LISTEN is in place. */
	async start(): Promise<void> {
		const client = new pg.Client({ connectionString: this.url, application_name: "taskmesh-gateway-listen" });
		client.on("notification", (message) => this.onRevoked(message.payload));
		client.on("error", (error) => this.lost(client, error));
		client.on("end", () => this.lost(client, undefined));
		await client.connect();
		await client.query(`LISTEN ${REVOCATION_CHANNEL}`);
		this.client = client;
	}

	/** Stops listening. */
	async close(): Promise<void> {
		this.closed = true;
		clearTimeout(this.retry);
		await this.client?.end().catch(() => {});
	}

	private lost(client: pg.Client, error: Error | undefined): void {
		if (this.closed || this.client !== client) return;
		this.client = undefined;
		this.onRevoked(undefined);
		this.logger?.warn({ err: error }, "revocation listener lost its connection; reconnecting");
		client.end().catch(() => {});
		this.retry = setTimeout(() => {
			this.start().catch((reason: unknown) => this.lost(client, reason as Error));
		}, 1_000);
	}
}
