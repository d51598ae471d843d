import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import type { ConnectError, ConnectRouter, createConnectRouter } from "@connectrpc/connect";
import type {
	Compression,
	UniversalHandler,
	UniversalServerRequest,
	UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { malformedMessage } from "./request-decoding-errors.js";

/*
 * A unary request is read and parsed by connect-node before any interceptor runs,
 * and a message it cannot parse is answered INTERNAL. This check decodes a binary
 * unary request first, the way each protocol frames it, and when its message cannot
 * be parsed hands connect-node a body whose reading fails with INVALID_ARGUMENT:
 * connect-node then answers that in the request's own protocol. Anything this check
 * cannot read (an unknown encoding, a body over the read limit, broken framing) is
 * passed on untouched for connect-node to judge as before.
 */

type Router = ReturnType<typeof createConnectRouter>;

/** Where a unary method's message sits in a binary request, by content type. */
const CONNECT_BINARY = /^application\/proto$/i;
const ENVELOPED = /^application\/grpc(-web)?(\+proto)?$/i;

interface CheckOptions {
	compressions: Compression[];
	readMaxBytes: number;
}

/** Reads a body of at most `limit` bytes; undefined, with the body to pass on, when it is longer. */
async function readUpTo(
	body: AsyncIterable<Uint8Array>,
	limit: number,
): Promise<{ bytes?: Uint8Array; passOn: AsyncIterable<Uint8Array> }> {
	const iterator = body[Symbol.asyncIterator]();
	const chunks: Uint8Array[] = [];
	let length = 0;
	for (;;) {
		const next = await iterator.next();
		if (next.done) break;
		chunks.push(next.value);
		length += next.value.byteLength;
		if (length > limit) {
			const rest = async function* () {
				yield* chunks;
				for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
			};
			return { passOn: rest() };
		}
	}
	const bytes = Buffer.concat(chunks);
	return { bytes, passOn: once(bytes) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
	yield bytes;
}

async function* failing(error: ConnectError): AsyncIterable<Uint8Array> {
	yield* [];
	throw error;
}

/** The parse error of one message, or undefined when it parses (or cannot be judged here). */
async function problemOf(
	type: DescMessage,
	data: Uint8Array,
	encoding: string | null,
	options: CheckOptions,
): Promise<ConnectError | undefined> {
	let message = data;
	if (encoding !== null && encoding !== "identity") {
		const compression = options.compressions.find((c) => c.name === encoding);
		if (compression === undefined) return undefined;
		try {
			message = await compression.decompress(data, options.readMaxBytes);
		} catch {
			return undefined;
		}
	}
	try {
		fromBinary(type, message);
		return undefined;
	} catch (error) {
		return malformedMessage(type, error);
	}
}

/** The first message of a gRPC or gRPC-Web body that cannot be parsed. */
async function envelopeProblem(
	type: DescMessage,
	bytes: Uint8Array,
	encoding: string | null,
	options: CheckOptions,
): Promise<ConnectError | undefined> {
	const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	for (let offset = 0; offset + 5 <= bytes.byteLength; ) {
		const flags = view.getUint8(offset);
		const length = view.getUint32(offset + 1);
		const start = offset + 5;
		if (start + length > bytes.byteLength) return undefined;
		offset = start + length;
		// Bit 7 marks a gRPC-Web trailer frame, which carries no message.
		if ((flags & 0x80) !== 0) continue;
		const problem = await problemOf(
			type,
			bytes.subarray(start, offset),
			(flags & 1) !== 0 ? encoding : null,
			options,
		);
		if (problem !== undefined) return problem;
	}
	return undefined;
}

/** A Connect error answer of our own, for a GET whose query carries no decodable message. */
function connectErrorAnswer(error: ConnectError): UniversalServerResponse {
	const body = new TextEncoder().encode(
		JSON.stringify({ code: "invalid_argument", message: error.rawMessage }),
	);
	return {
		status: 400,
		header: new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) }),
		body: once(body),
	};
}

/** A Connect GET's message from its query, or its problem. */
async function getProblem(
	type: DescMessage,
	url: string,
	options: CheckOptions,
): Promise<ConnectError | undefined> {
	const query = new URL(url, "http://gateway").searchParams;
	if (query.get("encoding") !== "proto") return undefined;
	const text = query.get("message") ?? "";
	let data: Uint8Array;
	if (query.get("base64") === "1") {
		if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) {
			return malformedMessage(type, new Error("the message query parameter is not base64"));
		}
		data = base64Decode(text);
	} else {
		data = new TextEncoder().encode(text);
	}
	return problemOf(type, data, query.get("compression"), options);
}

function checked(handler: UniversalHandler, options: CheckOptions): UniversalHandler {
	const type = handler.method.input;
	const check = async (request: UniversalServerRequest): Promise<UniversalServerResponse> => {
		// A GET on a method that takes no GET is connect-node's to refuse (405).
		if (request.method === "GET" && handler.allowedMethods.includes("GET")) {
			const problem = await getProblem(type, request.url, options);
			return problem === undefined ? handler(request) : connectErrorAnswer(problem);
		}
		const contentType = request.header.get("content-type") ?? "";
		const connect = CONNECT_BINARY.test(contentType);
		const enveloped = !connect && ENVELOPED.test(contentType);
		const body = request.body;
		// A body declared over the limit is refused by connect-node before it is read.
		const declared = Number(request.header.get("content-length") ?? 0);
		if (
			(!connect && !enveloped) ||
			declared > options.readMaxBytes ||
			typeof body !== "object" ||
			body === null ||
			!(Symbol.asyncIterator in body)
		) {
			return handler(request);
		}
		const { bytes, passOn } = await readUpTo(body as AsyncIterable<Uint8Array>, options.readMaxBytes);
		const problem =
			bytes === undefined
				? undefined
				: connect
					? await problemOf(type, bytes, request.header.get("content-encoding"), options)
					: await envelopeProblem(type, bytes, request.header.get("grpc-encoding"), options);
		return handler({ ...request, body: problem === undefined ? passOn : failing(problem) });
	};
	return Object.assign(check, {
		service: handler.service,
		method: handler.method,
		requestPath: handler.requestPath,
		protocolNames: handler.protocolNames,
		allowedMethods: handler.allowedMethods,
		supportedContentType: handler.supportedContentType,
	});
}

/**
 * Routes whose unary handlers check a binary request's message first (see above);
 * streaming handlers are left as they are (request-decoding-errors.ts covers them).
 */
export function checkingUnaryBodies(
	routes: (router: ConnectRouter) => void,
	options: CheckOptions,
): (router: ConnectRouter) => void {
	return (router) => {
		routes(router);
		const handlers = (router as Router).handlers;
		for (let i = 0; i < handlers.length; i++) {
			const handler = handlers[i] as UniversalHandler;
			if (handler.method.methodKind === "unary") handlers[i] = checked(handler, options);
		}
	};
}
