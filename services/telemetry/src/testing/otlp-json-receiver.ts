import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A span as decoded from an OTLP/JSON request. */
export interface ReceivedOtlpSpan {
	name: string;
	traceId: string;
	service: string;
	attributes: Record<string, unknown>;
}

/**
 * A local OTLP/HTTP receiver for tests: decodes what the OpenTelemetry OTLP
 * JSON exporters send (ExportTraceServiceRequest in its JSON mapping) and keeps
 * every span, plus the raw bodies to prove what never arrived.
 */
export class OtlpJsonReceiver {
	readonly spans: ReceivedOtlpSpan[] = [];
	readonly bodies: string[] = [];
	readonly paths: string[] = [];
	private constructor(private readonly server: Server) {}

	/** Listens on a free loopback port. */
	static async start(): Promise<OtlpJsonReceiver> {
		let receiver: OtlpJsonReceiver | undefined;
		const server = createServer((request, response) => {
			const chunks: Buffer[] = [];
			request.on("data", (chunk: Buffer) => chunks.push(chunk));
			request.on("end", () => {
				const body = Buffer.concat(chunks).toString("utf8");
				receiver?.accept(request.url ?? "", body);
				response.writeHead(200, { "content-type": "application/json" });
				response.end("{}");
			});
		});
		receiver = new OtlpJsonReceiver(server);
		await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
		return receiver;
	}

	/** Base URL for an OtlpHttpExporter endpoint. */
	get url(): string {
		return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	/** Stops listening. */
	close(): Promise<void> {
		this.server.closeAllConnections();
		return new Promise((resolve) => this.server.close(() => resolve()));
	}

	private accept(path: string, body: string): void {
		this.paths.push(path);
		this.bodies.push(body);
		if (!path.endsWith("/v1/traces")) return;
		const request = JSON.parse(body) as {
			resourceSpans?: Array<{
				resource?: { attributes?: JsonKeyValue[] };
				scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string; attributes?: JsonKeyValue[] }> }>;
			}>;
		};
		for (const rs of request.resourceSpans ?? []) {
			const resource = attributesOf(rs.resource?.attributes ?? []);
			for (const ss of rs.scopeSpans ?? []) {
				for (const span of ss.spans ?? []) {
					this.spans.push({
						name: span.name,
						traceId: span.traceId,
						service: String(resource["service.name"] ?? ""),
						attributes: attributesOf(span.attributes ?? []),
					});
				}
			}
		}
	}
}

interface JsonKeyValue {
	key: string;
	value: Record<string, unknown>;
}

function attributesOf(list: JsonKeyValue[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const { key, value } of list) out[key] = Object.values(value)[0];
	return out;
}
