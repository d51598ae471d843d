import { type DescMessage, fromBinary } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { ConnectError, type ConnectRouter, type createConnectRouter } from "@connectrpc/connect";
import {
	type Compression,
	createAsyncIterable,
	pipe,
	readAllBytes,
	transformSplitEnvelope,
	type UniversalHandler,
	type UniversalServerRequest,
	type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import { codeToHttpStatus, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { malformedMessage } from "./request-decoding-errors.js";

/*
 * A unary request is read and parsed by connect-node before any interceptor runs,
 * and a message it cannot parse is answered INTERNAL. This check decodes a binary
 * unary request first, the way each protocol frames it, and when its message cannot
 * be parsed hands connect-node a body whose reading fails with INVALID_ARGUMENT:
 * connect-node then answers that in the request's own protocol. Anything this check
 * cannot judge (an unknown encoding, broken framing) is passed on for connect-node to
 * judge as before, and a body over the read limit gets connect-node's own refusal.
 */

type Router = ReturnType<typeof createConnectRouter>;

/** Where a unary method's message sits in a binary request, by content type. */
const CONNECT_BINARY = /^application\/proto$/i;
const ENVELOPED = /^application\/grpc(-web)?(\+proto)?$/i;

interface CheckOptions {
	compressions: Compression[];
	readMaxBytes: number;
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
	try {
		for await (const frame of pipe(
			createAsyncIterable([bytes]),
			transformSplitEnvelope(options.readMaxBytes),
		)) {
			// Bit 7 marks a gRPC-Web trailer frame, which carries no message.
			if ((frame.flags & 0x80) !== 0) continue;
			const problem = await problemOf(type, frame.data, (frame.flags & 1) !== 0 ? encoding : null, options);
			if (problem !== undefined) return problem;
		}
	} catch {
		// Broken framing is connect-node's to answer.
	}
	return undefined;
}

/** A Connect error answer of our own, for a GET whose query carries no decodable message. */
function connectErrorAnswer(error: ConnectError): UniversalServerResponse {
	const body = errorToJsonBytes(error, {});
	return {
		status: codeToHttpStatus(error.code),
		header: new Headers({ "content-type": "application/json", "content-length": String(body.byteLength) }),
		body: createAsyncIterable([body]),
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
		if (
			(!connect && !enveloped) ||
			typeof body !== "object" ||
			body === null ||
			!(Symbol.asyncIterator in body)
		) {
			return handler(request);
		}
		// Read as connect-node reads it, limit and declared length alike: a body it would
		// refuse is refused with the error it would have raised. (The limit is per message;
		// a gRPC frame adds its 5-byte prefix.)
		let bytes: Uint8Array;
		try {
			bytes = await readAllBytes(
				body as AsyncIterable<Uint8Array>,
				connect ? options.readMaxBytes : options.readMaxBytes + 5,
				request.header.get("content-length"),
			);
		} catch (error) {
			return handler({ ...request, body: failing(ConnectError.from(error)) });
		}
		const problem = connect
			? await problemOf(type, bytes, request.header.get("content-encoding"), options)
			: await envelopeProblem(type, bytes, request.header.get("grpc-encoding"), options);
		return handler({
			...request,
			body: problem === undefined ? createAsyncIterable([bytes]) : failing(problem),
		});
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
