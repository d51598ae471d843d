import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	type IngestRequest,
	IngestRequestSchema,
	type LogChunk,
	LogChunkSchema,
	LogLevel,
} from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage } from "../../../../packages/log-chunking/src/index.js";
import { type LogIngestFixture, startLogIngest } from "../testing/log-ingest-fixture.js";

// Chunks sent by hand, out of order and across streams: what a buggy or hostile
// sender can do that the chunker never does.

let f: LogIngestFixture;
const env = "env_reassembly";
const time = timestampFromMs(Date.parse("2026-01-01T00:00:00Z"));

before(async () => {
	f = await startLogIngest({ maxMessageBytes: 4 * 1024 * 1024 });
});
after(async () => {
	await f.close();
});

function chunk(
	runId: string,
	sequence: number,
	data: string,
	extra: { last?: boolean; header?: { chunkCount?: number; bodySize?: bigint } } = {},
): LogChunk {
	return create(LogChunkSchema, {
		messageId: "m",
		runId,
		environmentId: env,
		sequence,
		data: Buffer.from(data),
		last: extra.last ?? false,
		header: extra.header === undefined ? undefined : { level: LogLevel.INFO, time, ...extra.header },
	});
}

async function* frames(...groups: LogChunk[][]): AsyncGenerator<IngestRequest> {
	for (const chunks of groups) yield create(IngestRequestSchema, { chunks });
}

async function readBody(runId: string, messageId = "m"): Promise<Buffer> {
	const parts: Uint8Array[] = [];
	for await (const piece of f.client.readMessageBody({ environmentId: env, runId, messageId }))
		parts.push(piece.data);
	return Buffer.concat(parts);
}

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
	try {
		await promise;
	} catch (error) {
		return ConnectError.from(error);
	}
	throw new Error("the call succeeded");
}

/** The message's state and stored chunk count, straight from the tables. */
async function stored(runId: string): Promise<{ state: number; chunks: number } | undefined> {
	const result = await f.schema.pool.query(
		`SELECT m.state, (SELECT count(*)::int FROM log_chunks c WHERE c.message_pk = m.id) AS chunks
		 FROM log_messages m WHERE m.environment_id = $1 AND m.run_id = $2 AND m.message_id = 'm'`,
		[env, runId],
	);
	return result.rows[0];
}

const REJECTED = 3;

describe("reassembly across streams", () => {
	test("a chunk stored before the count was known and past it refuses the message, never completes it", async () => {
		// Stored while the count is unknown; chunk 0 then declares 3 chunks and chunk 1 arrives.
		await f.client.ingest(frames([chunk("run_past_header", 5, "EXTRA")]));
		const summary = await f.client.ingest(
			frames([
				chunk("run_past_header", 0, "AAAAA", { header: { chunkCount: 3, bodySize: 15n } }),
				chunk("run_past_header", 1, "BBBBB"),
			]),
		);
		assert.equal(summary.messagesAccepted, 0n);
		assert.deepEqual(
			summary.rejected.map((r) => [r.id, r.code]),
			[["m", Code.InvalidArgument]],
		);
		assert.match(
			summary.rejected[0]?.message ?? "",
			/sequence: 5 .*past the message's last chunk \(it has 3 chunks\)/,
		);
		assert.deepEqual(await stored("run_past_header"), { state: REJECTED, chunks: 0 });
		assert.equal((await f.client.query({ environmentId: env, runId: "run_past_header" })).records.length, 0);
		assert.equal((await failure(readBody("run_past_header"))).code, Code.NotFound);
	});

	test("with the count learnt from the last chunk, a stored chunk past it refuses the message (chunk 3 was missing)", async () => {
		await f.client.ingest(frames([chunk("run_past_last", 5, "55555")]));
		const summary = await f.client.ingest(
			frames([
				chunk("run_past_last", 0, "00000", { header: {} }),
				chunk("run_past_last", 1, "11111"),
				chunk("run_past_last", 2, "22222"),
				chunk("run_past_last", 4, "44444", { last: true }),
			]),
		);
		assert.equal(summary.messagesAccepted, 0n);
		assert.equal(summary.rejected[0]?.code, Code.InvalidArgument);
		assert.match(summary.rejected[0]?.message ?? "", /sequence: 5 .*\(it has 5 chunks\)/);
		assert.equal((await f.client.query({ environmentId: env, runId: "run_past_last" })).records.length, 0);
	});

	test("chunk 1 stored, then chunk 0 marked last: refused, not left receiving forever", async () => {
		await f.client.ingest(frames([chunk("run_one_then_zero", 1, "tail")]));
		const summary = await f.client.ingest(
			frames([chunk("run_one_then_zero", 0, "head", { header: {}, last: true })]),
		);
		assert.equal(summary.incomplete, 0n);
		assert.equal(summary.rejected[0]?.code, Code.InvalidArgument);
		assert.match(summary.rejected[0]?.message ?? "", /sequence: 1 .*\(it has 1 chunks\)/);
		assert.equal((await stored("run_one_then_zero"))?.state, REJECTED);
	});

	test("a chunk past a count already known is refused naming its sequence and the count; other messages land", async () => {
		await f.client.ingest(
			frames([chunk("run_known", 0, "AAAAA", { header: { chunkCount: 2, bodySize: 10n } })]),
		);
		const good = [
			...chunkLogMessage({
				messageId: "good",
				runId: "run_known",
				environmentId: env,
				header: { level: LogLevel.INFO, time },
				body: Buffer.from("fine"),
			}),
		];
		const summary = await f.client.ingest(frames([chunk("run_known", 5, "EXTRA")], good));
		assert.equal(summary.messagesAccepted, 1n);
		assert.equal(summary.rejected[0]?.code, Code.InvalidArgument);
		assert.match(
			summary.rejected[0]?.message ?? "",
			/sequence: 5 is past the message's last chunk \(it has 2 chunks\)/,
		);
		const page = await f.client.query({ environmentId: env, runId: "run_known" });
		assert.deepEqual(
			page.records.map((r) => r.messageId),
			["good"],
		);
	});

	test("a whole message whose stored chunks have a gap reads back as FAILED_PRECONDITION, not INTERNAL", async () => {
		// As a message completed before completion required every chunk would be stored.
		const body = randomBytes(40_000);
		const chunks = [
			...chunkLogMessage(
				{
					messageId: "m",
					runId: "run_gap_read",
					environmentId: env,
					header: { level: LogLevel.INFO, time },
					body,
				},
				{ chunkBytes: 10_000 },
			),
		];
		assert.equal((await f.client.ingest(frames(chunks))).messagesAccepted, 1n);
		assert.ok((await readBody("run_gap_read")).equals(body));
		await f.schema.pool.query(
			`DELETE FROM log_chunks WHERE sequence = 2 AND message_pk =
			   (SELECT id FROM log_messages WHERE environment_id = $1 AND run_id = 'run_gap_read')`,
			[env],
		);
		const error = await failure(readBody("run_gap_read"));
		assert.equal(error.code, Code.FailedPrecondition);
		assert.match(error.rawMessage, /chunk 2 is missing/);
	});
});

describe("chunk 0 without a header", () => {
	test("is refused with INVALID_ARGUMENT naming header, and the rest of the stream lands", async () => {
		const good = [
			...chunkLogMessage({
				messageId: "good",
				runId: "run_no_header",
				environmentId: env,
				header: { level: LogLevel.INFO, time },
				body: Buffer.from("fine"),
			}),
		];
		const summary = await f.client.ingest(frames([chunk("run_no_header", 0, "x", { last: true })], good));
		assert.equal(summary.messagesAccepted, 1n);
		assert.equal(summary.incomplete, 0n);
		assert.deepEqual(
			summary.rejected.map((r) => [r.id, r.code]),
			[["m", Code.InvalidArgument]],
		);
		assert.match(summary.rejected[0]?.message ?? "", /^header: is required on sequence 0/);
		assert.deepEqual(await stored("run_no_header"), { state: REJECTED, chunks: 0 });
	});
});
