import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	type EnqueueStreamRequest,
	type EnqueueStreamResponse,
	QueueService,
} from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { ServiceError } from "../../../services/kit/src/errors/service-error.js";
import { registration } from "../../../services/kit/src/grpc/implementation.js";
import type { GrpcServiceHost } from "../../../services/kit/src/grpc/server.js";
import { startTestServer, testClient } from "../../../services/kit/src/testing/grpc.js";
import { OrderedStreamClient } from "./ordered-stream-client.js";

// A real server whose EnqueueStream answers each request with its message ids, in
// order, after a delay that varies, fails the stream at a message id "boom" and
// ends it cleanly after answering "last".
describe("ordered stream client", () => {
	let host: GrpcServiceHost;
	let opened = 0;
	let client: OrderedStreamClient<{ messages: Array<{ id: string }> }, EnqueueStreamResponse>;

	before(async () => {
		host = await startTestServer([
			registration(QueueService, {
				async *enqueueStream(requests: AsyncIterable<EnqueueStreamRequest>) {
					opened += 1;
					let sequence = 0n;
					for await (const request of requests) {
						const ids = request.messages.map((m) => m.id);
						if (ids.includes("boom")) throw new ServiceError("UNAVAILABLE", "the store went away");
						await new Promise((resolve) => setTimeout(resolve, Number(sequence % 3n)));
						yield { sequence: sequence++, results: ids.map((id) => ({ id })) };
						// As a draining server does: end cleanly, reading nothing more.
						if (ids.includes("last")) return;
					}
				},
			}),
		]);
		const queue = testClient(QueueService, host.url);
		client = new OrderedStreamClient((requests) => queue.enqueueStream(requests));
	});
	after(() => {
		client.close();
		host.forceStop();
	});

	const send = (id: string) => client.send({ messages: [{ id }] });

	test("each send resolves with the answer to its own request, many in flight on one stream", async () => {
		const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => send(`m${i}`)));
		assert.deepEqual(
			answers.map((a) => a.results[0]?.id),
			Array.from({ length: 200 }, (_, i) => `m${i}`),
		);
		assert.deepEqual(
			answers.map((a) => a.sequence),
			Array.from({ length: 200 }, (_, i) => BigInt(i)),
		);
		assert.equal(opened, 1);
	});

	test("a failed stream rejects every unanswered send with its status, and the next send opens a new one", async () => {
		const before = opened;
		const first = send("a");
		const failing = send("boom");
		const after = send("c");
		assert.equal((await first).results[0]?.id, "a");
		for (const rejected of [failing, after]) {
			await assert.rejects(rejected, (error: unknown) => {
				const e = ConnectError.from(error);
				return e.code === Code.Unavailable && /the store went away/.test(e.rawMessage);
			});
		}
		const again = await send("d");
		assert.deepEqual([again.sequence, again.results[0]?.id], [0n, "d"]);
		assert.equal(opened, before + 1);
	});

	test("requests a cleanly ended stream left unanswered are sent again on a new one", async () => {
		const before = opened;
		const answers = await Promise.all(["x1", "last", "x3", "x4"].map(send));
		assert.deepEqual(
			answers.map((a) => a.results[0]?.id),
			["x1", "last", "x3", "x4"],
		);
		// x3 and x4 were answered by the stream opened after the first one ended.
		assert.deepEqual(
			answers.slice(2).map((a) => a.sequence),
			[0n, 1n],
		);
		// The first four went on the stream the last test left open; one more was opened.
		assert.equal(opened, before + 1);
	});
});
