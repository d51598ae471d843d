import http from "node:http";
import http2 from "node:http2";
import net, { type Socket } from "node:net";
import { Duplex } from "node:stream";

/** A request handler both HTTP/1.1 and HTTP/2 requests are given to. */
export type RequestHandler = (
	request: http.IncomingMessage | http2.Http2ServerRequest,
	response: http.ServerResponse | http2.Http2ServerResponse,
) => void;

// Every HTTP/2 connection opens with this preface; an HTTP/1.1 one never does.
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * HTTP/1.1 and h2c (HTTP/2 without TLS, prior knowledge) on one port. Node's
 * http2 server only offers HTTP/1.1 beside HTTP/2 under TLS (ALPN), so the
 * first bytes of each connection pick the server that takes it.
 */
export class CleartextServer {
	private readonly tcp: net.Server;
	private readonly h1: http.Server;
	private readonly h2: http2.Http2Server;
	private readonly sockets = new Set<Socket>();

	constructor(handler: RequestHandler) {
		this.h1 = http.createServer(handler);
		this.h2 = http2.createServer(handler);
		this.tcp = net.createServer((socket) => this.route(socket));
	}

	/** Listens and resolves with the bound port. */
	listen(port: number, host: string): Promise<number> {
		return new Promise((resolve, reject) => {
			this.tcp.once("error", reject);
			this.tcp.listen(port, host, () => {
				const address = this.tcp.address();
				resolve(typeof address === "object" && address !== null ? address.port : port);
			});
		});
	}

	/** Stops accepting connections; open ones keep being served. */
	stopAccepting(): Promise<void> {
		return new Promise<void>((resolve) => this.tcp.close(() => resolve()));
	}

	/** Drops every open connection. */
	destroyConnections(): void {
		for (const socket of this.sockets) socket.destroy();
		this.h1.close();
		this.h2.close();
	}

	private route(socket: Socket): void {
		// RPCs are small writes that must leave at once, not wait for Nagle's timer.
		socket.setNoDelay(true);
		this.sockets.add(socket);
		socket.once("close", () => this.sockets.delete(socket));
		let head = Buffer.alloc(0);
		const onData = (chunk: Buffer) => {
			head = Buffer.concat([head, chunk]);
			const n = Math.min(head.length, H2_PREFACE.length);
			const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
			// Wait for more bytes only while they could still be the preface.
			if (isH2 && head.length < H2_PREFACE.length) return;
			socket.off("data", onData);
			if (isH2) {
				this.h2.emit("connection", replaying(socket, head));
			} else {
				socket.pause();
				socket.unshift(head);
				this.h1.emit("connection", socket);
				socket.resume();
			}
		};
		socket.on("data", onData);
		socket.on("error", () => socket.destroy());
	}
}

/**
 * The socket as a stream that first replays the bytes already read. An HTTP/2
 * session reads its socket's handle directly, past anything unshifted, so it
 * is given this stream instead (Node wraps a plain Duplex for it).
 */
function replaying(socket: Socket, head: Buffer): Duplex {
	const stream = new Duplex({
		read() {
			socket.resume();
		},
		write(chunk: Buffer, _encoding, callback) {
			socket.write(chunk, callback);
		},
		final(callback) {
			socket.end(callback);
		},
		destroy(error, callback) {
			socket.destroy(error ?? undefined);
			callback(error);
		},
	});
	stream.push(head);
	socket.on("data", (chunk: Buffer) => {
		if (!stream.push(chunk)) socket.pause();
	});
	socket.once("end", () => stream.push(null));
	socket.once("close", () => stream.destroy());
	return stream;
}
