import http2 from "node:http2";
import type { AddressInfo } from "node:net";

/** A gRPC (h2c) proxy in front of one service, counting the calls by method. */
export interface CountingProxy {
	url: string;
	/** Calls seen so far, by method name ("StartAttempt", "AttemptStream", …). */
	calls: Map<string, number>;
	close(): Promise<void>;
}

// Set per connection by HTTP/2 itself; never forwarded.
const HOP_HEADERS = new Set([
	":scheme",
	":authority",
	"connection",
	"keep-alive",
	"transfer-encoding",
	"upgrade",
]);

function forwardable(headers: http2.IncomingHttpHeaders): http2.OutgoingHttpHeaders {
	return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_HEADERS.has(name)));
}

/**
 * Starts a proxy on a free loopback port that forwards every HTTP/2 stream to
 * `target` unchanged (headers, frames both ways, trailers) and counts it: a test
 * sees which RPCs a client really made without the client or the service knowing.
 */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
	const upstream = http2.connect(target);
	upstream.on("error", () => undefined);
	const calls = new Map<string, number>();
	const server = http2.createServer();
	const sessions = new Set<http2.ServerHttp2Session>();
	server.on("session", (session) => {
		sessions.add(session);
		session.on("close", () => sessions.delete(session));
	});
	server.on("stream", (down, headers) => {
		const method =
			String(headers[":path"] ?? "")
				.split("/")
				.pop() ?? "";
		calls.set(method, (calls.get(method) ?? 0) + 1);
		const up = upstream.request(forwardable(headers));
		let trailers: http2.OutgoingHttpHeaders = {};
		up.on("response", (responseHeaders, flags) => {
			// A trailers-only response (an error before any message) ends the stream with its headers.
			const endStream = (flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0;
			if (!down.closed)
				down.respond(forwardable(responseHeaders), endStream ? { endStream } : { waitForTrailers: true });
		});
		up.on("trailers", (t) => {
			trailers = forwardable(t);
		});
		down.on("wantTrailers", () => down.sendTrailers(trailers));
		down.pipe(up);
		up.pipe(down);
		up.on("error", () => down.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
		down.on("error", () => up.close(http2.constants.NGHTTP2_CANCEL));
		down.on("close", () => {
			if (!up.closed) up.close(http2.constants.NGHTTP2_CANCEL);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		calls,
		close: () =>
			new Promise<void>((resolve) => {
				upstream.close();
				server.close(() => resolve());
				// Sessions the clients left open would hold close() forever.
				for (const session of sessions) session.destroy();
			}),
	};
}
