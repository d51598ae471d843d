import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { ListQueuesRequestSchema } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { type GatewayPlatform, startGatewayPlatform, type TestKey } from "../testing/gateway-platform.js";

/** A protobuf message cut short: field 1 says five bytes follow, one does. */
const CUT_SHORT = Buffer.from([0x0a, 0x05, 0x61]);
/** A gzip stream that is only its header. */
const GZIP_HEADER_ONLY = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
const UNARY = "/taskmesh.queue.v1.QueueService/ListQueues";
const STREAM = "/taskmesh.scheduler.v1.SchedulerService/TriggerStream";
const BAD_LIST_QUEUES = /request is not a valid taskmesh\.queue\.v1\.ListQueuesRequest: premature EOF/;

/** A gRPC length-prefixed message; `compressed` sets the flag. */
function envelope(message: Uint8Array, compressed = false): Buffer {
	const head = Buffer.alloc(5);
	head.writeUInt8(compressed ? 1 : 0, 0);
	head.writeUInt32BE(message.byteLength, 1);
	return Buffer.concat([head, message]);
}

describe("the gateway refuses request bytes it cannot decode with INVALID_ARGUMENT", () => {
	let platform: GatewayPlatform;
	let dev: TestKey;
	let base: string;

	before(async () => {
		platform = await startGatewayPlatform({});
		base = platform.gateway.url;
		dev = await platform.createKey("dev");
	});
	after(() => platform?.stop());

	/** A POST over HTTP/1.1: status, grpc-status header and body text. */
	async function post(headers: Record<string, string>, body: Buffer) {
		const response = await fetch(base + UNARY, {
			method: "POST",
			headers: { authorization: `Bearer ${dev.key}`, ...headers },
			body,
		});
		return { status: response.status, text: await response.text() };
	}

	/** A gRPC call over h2c: the grpc-status and grpc-message it ends with. */
	function grpc(path: string, headers: Record<string, string>, body: Buffer) {
		return new Promise<{ status: string; message: string }>((resolve, reject) => {
			const session = http2.connect(base);
			session.on("error", reject);
			const stream = session.request({
				":method": "POST",
				":path": path,
				"content-type": "application/grpc",
				te: "trailers",
				authorization: `Bearer ${dev.key}`,
				...headers,
			});
			let ended = { status: "", message: "" };
			const take = (h: http2.IncomingHttpHeaders) => {
				if (h["grpc-status"] !== undefined) {
					ended = {
						status: String(h["grpc-status"]),
						message: decodeURIComponent(String(h["grpc-message"] ?? "")),
					};
				}
			};
			stream.on("response", take);
			stream.on("trailers", take);
			stream.on("data", () => {});
			stream.on("close", () => {
				session.close();
				resolve(ended);
			});
			stream.end(body);
		});
	}

	test("a Connect binary message cut short is 400 invalid_argument naming the type", async () => {
		const answer = await post({ "content-type": "application/proto" }, CUT_SHORT);
		assert.equal(answer.status, 400, answer.text);
		const body = JSON.parse(answer.text) as { code: string; message: string };
		assert.equal(body.code, "invalid_argument");
		assert.match(body.message, BAD_LIST_QUEUES);
	});

	test("a gRPC-Web message cut short ends with grpc-status 3", async () => {
		const answer = await post({ "content-type": "application/grpc-web+proto" }, envelope(CUT_SHORT));
		assert.equal(answer.status, 200);
		assert.match(answer.text, /grpc-status: ?3/);
		assert.match(decodeURIComponent(answer.text), BAD_LIST_QUEUES);
	});

	test("a gRPC unary message cut short ends with INVALID_ARGUMENT", async () => {
		const ended = await grpc(UNARY, {}, envelope(CUT_SHORT));
		assert.equal(ended.status, "3");
		assert.match(ended.message, BAD_LIST_QUEUES);
	});

	test("a message cut short on a gRPC stream ends it with INVALID_ARGUMENT", async () => {
		const ended = await grpc(STREAM, {}, envelope(CUT_SHORT));
		assert.equal(ended.status, "3");
		assert.match(
			ended.message,
			/request is not a valid taskmesh\.scheduler\.v1\.TriggerStreamRequest: premature EOF/,
		);
	});

	test("a Connect GET whose message is not base64 is 400 invalid_argument", async () => {
		const response = await fetch(`${base}${UNARY}?encoding=proto&base64=1&message=%25%25%25&connect=v1`, {
			headers: { authorization: `Bearer ${dev.key}` },
		});
		assert.equal(response.status, 400);
		const body = (await response.json()) as { code: string; message: string };
		assert.equal(body.code, "invalid_argument");
		assert.match(body.message, /ListQueuesRequest: the message query parameter is not base64/);
	});

	test("a body that is not gzip past its header is invalid_argument, over Connect and gRPC", async () => {
		const answer = await post(
			{ "content-type": "application/proto", "content-encoding": "gzip" },
			GZIP_HEADER_ONLY,
		);
		assert.equal(answer.status, 400, answer.text);
		assert.match(answer.text, /"code":"invalid_argument".*could not be decompressed as gzip/);
		const ended = await grpc(UNARY, { "grpc-encoding": "gzip" }, envelope(GZIP_HEADER_ONLY, true));
		assert.equal(ended.status, "3");
		assert.match(ended.message, /could not be decompressed as gzip/);
	});

	test("well-formed binary requests, plain and gzipped, still succeed on every protocol", async () => {
		const message = toBinary(ListQueuesRequestSchema, create(ListQueuesRequestSchema, {}));
		const plain = await post({ "content-type": "application/proto" }, Buffer.from(message));
		assert.equal(plain.status, 200, plain.text);
		const zipped = await post(
			{ "content-type": "application/proto", "content-encoding": "gzip" },
			gzipSync(message),
		);
		assert.equal(zipped.status, 200, zipped.text);
		const web = await post({ "content-type": "application/grpc-web+proto" }, envelope(message));
		assert.match(web.text, /grpc-status: ?0/);
		assert.equal((await grpc(UNARY, {}, envelope(message))).status, "0");
		assert.equal(
			(await grpc(UNARY, { "grpc-encoding": "gzip" }, envelope(gzipSync(message), true))).status,
			"0",
		);
	});
});
