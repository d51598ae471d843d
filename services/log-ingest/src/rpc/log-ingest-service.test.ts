import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	Compression,
	type IngestRequest,
	IngestRequestSchema,
	type LogChunk,
	LogIngestService,
	LogLevel,
	type LogRecord,
} from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage, type OutgoingLogMessage } from "../../../../packages/log-chunking/src/index.js";
import { registration } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { type LogIngestFixture, startLogIngest } from "../testing/log-ingest-fixture.js";
import { logIngestImplementation } from "./log-ingest-service.js";
import { servedLogIngestService } from "./served-service.js";

let f: LogIngestFixture;
const env = "env_test";

before(async () => {
	f = await startLogIngest({ maxMessageBytes: 4 * 1024 * 1024 });
});
after(async () => {
	await f.close();
});

function message(
	runId: string,
	messageId: string,
	body: Uint8Array,
	level = LogLevel.INFO,
): OutgoingLogMessage {
	return {
		messageId,
		runId,
		environmentId: env,
		header: {
			level,
			time: timestampFromMs(Date.parse("2026-01-01T00:00:00Z")),
			attributes: { who: messageId },
		},
		body,
	};
}

function chunksOf(m: OutgoingLogMessage, chunkBytes = 16 * 1024): LogChunk[] {
	return [...chunkLogMessage(m, { chunkBytes })];
}

async function* frames(...groups: LogChunk[][]): AsyncGenerator<IngestRequest> {
	for (const chunks of groups) yield create(IngestRequestSchema, { chunks });
}

async function readBody(runId: string, messageId: string): Promise<Buffer> {
	const parts: Uint8Array[] = [];
	for await (const piece of f.client.readMessageBody({ environmentId: env, runId, messageId }))
		parts.push(piece.data);
	return Buffer.concat(parts);
}

async function grpcCode(promise: Promise<unknown>): Promise<Code> {
	try {
		await promise;
	} catch (error) {
		return ConnectError.from(error).code;
	}
	throw new Error("the call succeeded");
}

describe("LogIngestService", () => {
	test("a small message is stored whole and read back by Query with its header", async () => {
		const summary = await f.client.ingest(
			frames(chunksOf(message("run_small", "m1", Buffer.from("hello world")))),
		);
		assert.equal(summary.messagesAccepted, 1n);
		assert.equal(summary.bytesAccepted, 11n);
		const page = await f.client.query({ environmentId: env, runId: "run_small" });
		assert.equal(page.records.length, 1);
		const record = page.records[0];
		assert.equal(Buffer.from(record?.body ?? []).toString(), "hello world");
		assert.equal(record?.level, LogLevel.INFO);
		assert.equal(record?.attributes.who, "m1");
		assert.equal(record?.incomplete, false);
		assert.equal(record?.bodyTruncated, false);
		assert.equal(record?.time?.seconds, BigInt(Date.parse("2026-01-01T00:00:00Z") / 1000));
	});

	test("a multi-chunk message sent shuffled and with duplicates reads back byte-exact", async () => {
		const body = Buffer.concat([randomBytes(100_000), Buffer.from("compressible text ".repeat(20_000))]);
		const chunks = chunksOf(message("run_big", "big", body));
		const reversed = [...chunks].reverse();
		const summary = await f.client.ingest(
			frames(reversed.slice(0, 10), [...chunks.slice(3, 6)], reversed.slice(10), [chunks[0] as LogChunk]),
		);
		assert.equal(summary.messagesAccepted, 1n);
		assert.equal(summary.bytesAccepted, BigInt(body.byteLength));
		assert.equal(summary.duplicatesIgnored, 4n);
		assert.ok((await readBody("run_big", "big")).equals(body));
		const page = await f.client.query({ environmentId: env, runId: "run_big", maxBodyBytes: 1000 });
		assert.equal(page.records[0]?.body.byteLength, 1000);
		assert.equal(page.records[0]?.bodyTruncated, true);
		assert.equal(page.records[0]?.bodySize, BigInt(body.byteLength));
	});

	test("a whole message sent again in a later stream is ignored as a duplicate", async () => {
		const chunks = chunksOf(message("run_dup", "d1", Buffer.from("once")));
		await f.client.ingest(frames(chunks));
		const again = await f.client.ingest(frames(chunks, chunks));
		assert.equal(again.messagesAccepted, 0n);
		assert.equal(again.duplicatesIgnored, 2n);
		const page = await f.client.query({ environmentId: env, runId: "run_dup" });
		assert.equal(page.records.length, 1);
		// A frame mixing it with new messages: the stored one is skipped and the new
		// ones (one not UTF-8, so stored with a search text) land exactly as sent.
		const fresh = [Buffer.from("second"), Buffer.from([0xc3, 0x28, 0x00, ...Buffer.from(" dup NEEDLE")])];
		const mixed = await f.client.ingest(
			frames([
				...chunks,
				...chunksOf(message("run_dup", "d2", fresh[0] as Buffer)),
				...chunksOf(message("run_dup", "d3", fresh[1] as Buffer)),
			]),
		);
		assert.equal(mixed.messagesAccepted, 2n);
		assert.equal(mixed.duplicatesIgnored, 1n);
		const all = await f.client.query({ environmentId: env, runId: "run_dup" });
		assert.deepEqual(
			all.records.map((r) => [r.messageId, Buffer.from(r.body).toString("latin1")]),
			[
				["d1", "once"],
				["d2", "second"],
				["d3", (fresh[1] as Buffer).toString("latin1")],
			],
		);
		const searched = await f.client.query({ environmentId: env, runId: "run_dup", text: "needle" });
		assert.deepEqual(
			searched.records.map((r) => r.messageId),
			["d3"],
		);
	});

	test("a stream cut mid-message leaves it waiting, and a later stream completes it", async () => {
		const body = randomBytes(80_000);
		const chunks = chunksOf(message("run_cut", "cut", body));
		const cut = new AbortController();
		async function* firstHalfThenCut(): AsyncGenerator<IngestRequest> {
			yield create(IngestRequestSchema, { chunks: chunks.slice(0, 2) });
			// The server has the frame once Query sees the run; then the stream is cut.
			for (;;) {
				const seen = await f.store.runExists(env, "run_cut");
				if (seen) break;
				await new Promise((resolve) => setImmediate(resolve));
			}
			cut.abort();
		}
		assert.equal(await grpcCode(f.client.ingest(firstHalfThenCut(), { signal: cut.signal })), Code.Canceled);
		assert.equal((await f.client.query({ environmentId: env, runId: "run_cut" })).records.length, 0);
		const summary = await f.client.ingest(frames(chunks));
		assert.equal(summary.messagesAccepted, 1n);
		assert.equal(summary.duplicatesIgnored, 2n);
		assert.ok((await readBody("run_cut", "cut")).equals(body));
	});

	test("a message whose chunks stop arriving is reported incomplete, never as whole", async () => {
		const chunks = chunksOf(message("run_gap", "gap", randomBytes(60_000)));
		const summary = await f.client.ingest(frames(chunks.filter((c) => c.sequence !== 2)));
		assert.equal(summary.incomplete, 1n);
		assert.equal(summary.messagesAccepted, 0n);
		f.clock.ms += 61_000;
		assert.ok((await f.store.sweeper.sweep()) >= 1);
		const [record] = (await f.client.query({ environmentId: env, runId: "run_gap" })).records;
		assert.equal(record?.incomplete, true);
		assert.equal(record?.body.byteLength, 0);
		assert.equal(record?.bodySize, 60_000n);
		assert.equal(await grpcCode(readBody("run_gap", "gap")), Code.FailedPrecondition);
		const late = await f.client.ingest(frames([chunks[2] as LogChunk]));
		assert.equal(late.rejected[0]?.code, Code.FailedPrecondition);
		assert.equal(
			(await f.client.query({ environmentId: env, runId: "run_gap" })).records[0]?.incomplete,
			true,
		);
	});

	test("corrupt data and unknown compression refuse their message while the rest of the stream lands", async () => {
		const good = chunksOf(message("run_bad", "good", Buffer.from("fine")));
		const [corrupt] = chunksOf(message("run_bad", "corrupt", Buffer.from("x".repeat(8000))));
		assert.equal(corrupt?.compression, Compression.BROTLI);
		(corrupt as LogChunk).data = (corrupt as LogChunk).data.subarray(0, 10);
		const [unknown] = chunksOf(message("run_bad", "unknown", Buffer.from("y")));
		(unknown as LogChunk).compression = 7 as Compression;
		const summary = await f.client.ingest(frames([corrupt as LogChunk, unknown as LogChunk], good));
		assert.equal(summary.messagesAccepted, 1n);
		const byId = new Map(summary.rejected.map((r) => [r.id, r]));
		assert.equal(byId.get("corrupt")?.code, Code.InvalidArgument);
		assert.match(byId.get("corrupt")?.message ?? "", /not valid brotli data/);
		assert.equal(byId.get("unknown")?.code, Code.InvalidArgument);
		assert.match(byId.get("unknown")?.message ?? "", /compression: 7 is not a known compression/);
		const page = await f.client.query({ environmentId: env, runId: "run_bad" });
		assert.deepEqual(
			page.records.map((r) => r.messageId),
			["good"],
		);
	});

	test("in a frame with hundreds of KiB compressed (inflated off the main thread), a corrupt chunk refuses only its message", async () => {
		// Hex text compresses to about half: well past the size that sends a frame's
		// compressed chunks to the inflate thread.
		const bodies = [0, 1].map(() => Buffer.from(randomBytes(192 * 1024).toString("hex")));
		const large = bodies.flatMap((body, i) => chunksOf(message("run_thread", `large${i}`, body), 64 * 1024));
		assert.ok(large.every((c) => c.compression === Compression.BROTLI));
		assert.ok(large.reduce((n, c) => n + c.data.byteLength, 0) > 256 * 1024);
		const [corrupt] = chunksOf(message("run_thread", "corrupt", Buffer.from("x".repeat(8000))));
		(corrupt as LogChunk).data = (corrupt as LogChunk).data.subarray(0, 10);
		const summary = await f.client.ingest(
			frames([...large.slice(0, 5), corrupt as LogChunk, ...large.slice(5)]),
		);
		assert.equal(summary.messagesAccepted, 2n);
		assert.equal(summary.bytesAccepted, BigInt(bodies[0]?.byteLength ?? 0) * 2n);
		assert.deepEqual(
			summary.rejected.map((r) => [r.id, r.code]),
			[["corrupt", Code.InvalidArgument]],
		);
		assert.match(summary.rejected[0]?.message ?? "", /not valid brotli data/);
		for (const i of [0, 1]) {
			assert.ok((await readBody("run_thread", `large${i}`)).equals(bodies[i] as Buffer));
		}
		const page = await f.client.query({ environmentId: env, runId: "run_thread", maxBodyBytes: 100 });
		assert.deepEqual(
			page.records.map((r) => [r.messageId, Buffer.from(r.body).toString()]),
			[0, 1].map((i) => [`large${i}`, bodies[i]?.subarray(0, 100).toString()]),
		);
	});

	test("a message over the cap is refused with RESOURCE_EXHAUSTED naming the cap, and its chunks are dropped", async () => {
		const big = message("run_cap", "huge", randomBytes(5 * 1024 * 1024));
		const chunks = [...chunkLogMessage(big, { chunkBytes: 256 * 1024, maxMessageBytes: 64 * 1024 * 1024 })];
		const noHeader = chunks.slice(1);
		const summary = await f.client.ingest(frames(noHeader.slice(0, 8), noHeader.slice(8)));
		assert.equal(summary.rejected[0]?.code, Code.ResourceExhausted);
		assert.match(summary.rejected[0]?.message ?? "", /over the limit of 4194304 bytes per message/);
		const declared = await f.client.ingest(frames([chunks[0] as LogChunk]));
		assert.equal(declared.rejected[0]?.code, Code.FailedPrecondition);
		const stored = await f.schema.pool.query(
			"SELECT count(*)::int AS n FROM log_chunks c JOIN log_messages m ON m.id = c.message_pk WHERE m.run_id = 'run_cap'",
		);
		assert.equal(stored.rows[0].n, 0);
	});

	test("a sequence past the cap is refused as invalid", async () => {
		const [chunk] = chunksOf(message("run_seq", "far", Buffer.from("z")));
		const far = { ...(chunk as LogChunk), sequence: 20_000, last: false, header: undefined } as LogChunk;
		const summary = await f.client.ingest(frames([far]));
		assert.equal(summary.rejected[0]?.code, Code.InvalidArgument);
		assert.match(summary.rejected[0]?.message ?? "", /sequence: 20000 is past the limit of 16384 chunks/);
	});

	test("a message whose time no Timestamp holds is refused alone, naming header.time; the rest of its frame is stored", async () => {
		const at =
			(seconds: bigint) =>
			(m: OutgoingLogMessage): OutgoingLogMessage => ({
				...m,
				header: { ...m.header, time: create(TimestampSchema, { seconds }) },
			});
		const good = chunksOf(message("run_times", "good", Buffer.from("on time")));
		// Year 294,000 and beyond overflowed the microseconds column and failed the whole stream.
		const far = chunksOf(at(10_000_000_000_000n)(message("run_times", "far", Buffer.from("z"))));
		const early = chunksOf(at(-62_135_596_801n)(message("run_times", "early", Buffer.from("z"))));
		const summary = await f.client.ingest(frames([...far, ...good, ...early]));
		assert.equal(summary.messagesAccepted, 1n);
		const rejected = [...summary.rejected].sort((a, b) => a.id.localeCompare(b.id));
		assert.deepEqual(
			rejected.map((r) => [r.id, r.code]),
			[
				["early", Code.InvalidArgument],
				["far", Code.InvalidArgument],
			],
		);
		for (const r of rejected)
			assert.match(r.message, /header\.time: must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z/);
		const page = await f.client.query({ environmentId: env, runId: "run_times" });
		assert.deepEqual(
			page.records.map((r) => r.messageId),
			["good"],
		);
		for (const field of ["start", "end"] as const) {
			const time = { [field]: { seconds: 10_000_000_000_000n, nanos: 0 } };
			const error = await f.client.query({ environmentId: env, time }).then(
				() => undefined,
				(e: unknown) => ConnectError.from(e),
			);
			assert.equal(error?.code, Code.InvalidArgument);
			assert.match(error?.rawMessage ?? "", new RegExp(`time\\.${field}: must be from 0001-01-01`));
		}
	});

	test("a chunk without a message id or run id fails the stream with INVALID_ARGUMENT naming the field", async () => {
		const [chunk] = chunksOf(message("run_noid", "x", Buffer.from("z")));
		const noMessage = { ...(chunk as LogChunk), messageId: "" } as LogChunk;
		try {
			await f.client.ingest(frames([noMessage]));
			assert.fail("the stream succeeded");
		} catch (error) {
			const e = ConnectError.from(error);
			assert.equal(e.code, Code.InvalidArgument);
			assert.match(e.rawMessage, /frames\[0\]\.chunks\[0\]\.message_id: is required/);
		}
		const noRun = { ...(chunk as LogChunk), runId: "" } as LogChunk;
		assert.equal(await grpcCode(f.client.ingest(frames([noRun]))), Code.InvalidArgument);
	});

	test("frames before a malformed one are stored, in order, by the time the stream fails", async () => {
		// The service reads and decodes a frame while the one before is in its transaction:
		// the error must still wait for the earlier frames, and they must land in order.
		const body = randomBytes(200 * 1024);
		const parts = chunksOf(message("run_early", "early", body), 16 * 1024);
		const line = chunksOf(message("run_early", "line", Buffer.from("one line")));
		const [bad] = chunksOf(message("run_early", "bad", Buffer.from("z")));
		const noMessage = { ...(bad as LogChunk), messageId: "" } as LogChunk;
		const code = await grpcCode(
			f.client.ingest(frames(parts.slice(0, 5), parts.slice(5), line, [noMessage])),
		);
		assert.equal(code, Code.InvalidArgument);
		assert.deepEqual(await readBody("run_early", "early"), body);
		const page = await f.client.query({ environmentId: env, runId: "run_early" });
		const cursors = new Map(page.records.map((r) => [r.messageId, BigInt(r.cursor)]));
		assert.deepEqual([...cursors.keys()].sort(), ["early", "line"]);
		// Cursors may have gaps, never a reversed order.
		assert.ok((cursors.get("early") as bigint) < (cursors.get("line") as bigint));
	});

	test("a frame over the frame limit stops the stream with RESOURCE_EXHAUSTED naming the limit", async () => {
		const chunks = chunksOf(message("run_frame", "wide", randomBytes(5 * 1024 * 1024)), 1024 * 1024);
		try {
			await f.client.ingest(frames(chunks));
			assert.fail("the stream succeeded");
		} catch (error) {
			const e = ConnectError.from(error);
			assert.equal(e.code, Code.ResourceExhausted);
			assert.match(e.rawMessage, /frames\[0\]: 5242880 bytes .* over the limit of 4194304 bytes per frame/);
		}
	});

	test("Tail of an unknown run is NOT_FOUND", async () => {
		const code = await grpcCode(
			(async () => {
				for await (const _ of f.client.tail({ environmentId: env, runId: "run_never" })) break;
			})(),
		);
		assert.equal(code, Code.NotFound);
	});

	test("a live tail receives the stored messages and then those written after it started", async () => {
		await f.client.ingest(frames(chunksOf(message("run_tail", "t0", Buffer.from("before")))));
		const stop = new AbortController();
		const seen: string[] = [];
		const stream = f.client.tail({ environmentId: env, runId: "run_tail" }, { signal: stop.signal });
		const iterator = stream[Symbol.asyncIterator]();
		const first = await iterator.next();
		for (const r of first.value?.records ?? []) seen.push(Buffer.from(r.body).toString());
		const big = randomBytes(50_000);
		await f.client.ingest(
			frames(
				chunksOf(message("run_tail", "t1", Buffer.from("after"))),
				chunksOf(message("run_tail", "t2", big)),
			),
		);
		while (seen.length < 3) {
			const next = await iterator.next();
			for (const r of next.value?.records ?? []) seen.push(r.messageId);
		}
		stop.abort();
		assert.deepEqual(seen, ["before", "t1", "t2"]);
	});

	test("a tail ends cleanly when its server drains, and another picks up from the last cursor", async () => {
		await f.client.ingest(frames(chunksOf(message("run_drain", "d0", Buffer.from("first")))));
		const draining = await startTestServer(
			[
				registration(
					servedLogIngestService,
					logIngestImplementation({
						store: f.store,
						inlineBodyBytes: 64 * 1024,
						maxFrameBytes: 4 * 1024 * 1024,
					}),
				),
			],
			{ drainTimeoutMs: 20_000 },
		);
		const seen: string[] = [];
		let cursor = "";
		const following = (async () => {
			for await (const frame of testClient(LogIngestService, draining.url).tail({
				environmentId: env,
				runId: "run_drain",
			})) {
				for (const r of frame.records) {
					seen.push(r.messageId);
					cursor = r.cursor;
				}
			}
		})();
		while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
		const started = Date.now();
		await draining.drain();
		await following; // ends without an error
		assert.ok(Date.now() - started < 5_000, `the drain took ${Date.now() - started} ms`);
		await f.client.ingest(frames(chunksOf(message("run_drain", "d1", Buffer.from("second")))));
		for await (const frame of f.client.tail({ environmentId: env, runId: "run_drain", cursor })) {
			seen.push(...frame.records.map((r) => r.messageId));
			break;
		}
		assert.deepEqual(seen, ["d0", "d1"]);
	});

	test("a live tail keeps receiving after its LISTEN connection is killed and comes back", async () => {
		await f.client.ingest(frames(chunksOf(message("run_relisten", "r0", Buffer.from("first")))));
		const stop = new AbortController();
		const iterator = f.client
			.tail({ environmentId: env, runId: "run_relisten" }, { signal: stop.signal })
			[Symbol.asyncIterator]();
		assert.deepEqual(
			(await iterator.next()).value?.records.map((r: LogRecord) => r.messageId),
			["r0"],
		);
		const killed = await f.schema.pool.query(
			"SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query = $1",
			[`LISTEN "${f.schema.schema}_tail"`],
		);
		assert.equal(killed.rows.length, 1);
		// The listener reconnects and wakes every tail, which re-reads from its cursor.
		await f.client.ingest(frames(chunksOf(message("run_relisten", "r1", Buffer.from("second")))));
		const next = await iterator.next();
		stop.abort();
		assert.deepEqual(
			next.value?.records.map((r: LogRecord) => r.messageId),
			["r1"],
		);
	});

	test("a tail resumed from a cursor sends only what came after it", async () => {
		const page = await f.client.query({ environmentId: env, runId: "run_tail" });
		const cursor = page.records[0]?.cursor ?? "";
		const stop = new AbortController();
		const stream = f.client.tail({ environmentId: env, runId: "run_tail", cursor }, { signal: stop.signal });
		const first = await stream[Symbol.asyncIterator]().next();
		stop.abort();
		const records: LogRecord[] = first.value?.records ?? [];
		assert.deepEqual(
			records.map((r) => r.messageId),
			["t1", "t2"],
		);
	});

	test("Query filters by level, time and text, and pages with a token", async () => {
		const run = "run_query";
		const lines = Array.from({ length: 25 }, (_, i) => {
			const m = message(
				run,
				`q${i}`,
				Buffer.from(`line ${i} ${i % 5 === 0 ? "Needle" : "hay"}`),
				i % 2 ? LogLevel.WARN : LogLevel.INFO,
			);
			m.header.time = timestampFromMs(Date.parse("2026-02-01T00:00:00Z") + i * 1000);
			return chunksOf(m);
		});
		await f.client.ingest(frames(lines.flat()));
		const warn = await f.client.query({
			environmentId: env,
			runId: run,
			levels: [LogLevel.WARN],
			pageSize: 1000,
		});
		assert.equal(warn.records.length, 12);
		const text = await f.client.query({ environmentId: env, runId: run, text: "needle" });
		assert.deepEqual(
			text.records.map((r) => r.messageId),
			["q0", "q5", "q10", "q15", "q20"],
		);
		const timed = await f.client.query({
			environmentId: env,
			runId: run,
			time: {
				start: timestampFromMs(Date.parse("2026-02-01T00:00:03Z")),
				end: timestampFromMs(Date.parse("2026-02-01T00:00:06Z")),
			},
		});
		assert.deepEqual(
			timed.records.map((r) => r.messageId),
			["q3", "q4", "q5"],
		);
		const ids: string[] = [];
		let token = "";
		do {
			const page = await f.client.query({ environmentId: env, runId: run, pageSize: 10, pageToken: token });
			ids.push(...page.records.map((r) => r.messageId));
			token = page.nextPageToken;
		} while (token !== "");
		assert.deepEqual(
			ids,
			Array.from({ length: 25 }, (_, i) => `q${i}`),
		);
		const binary = Buffer.concat([Buffer.from([0xff, 0x00, 0xc3]), Buffer.from(" a NEEDLE in bytes")]);
		await f.client.ingest(frames(chunksOf(message("run_binary", "b0", binary))));
		const inBytes = await f.client.query({ environmentId: env, runId: "run_binary", text: "needle" });
		assert.deepEqual(
			inBytes.records.map((r) => Buffer.from(r.body).equals(binary)),
			[true],
		);
		// The same through the chunked path: the head and its search text are written
		// when the last chunk lands, not with the first row.
		const chunkedBinary = Buffer.concat([binary, randomBytes(100_000)]);
		await f.client.ingest(frames(chunksOf(message("run_binary", "b1", chunkedBinary))));
		const found = await f.client.query({ environmentId: env, runId: "run_binary", text: "needle" });
		assert.deepEqual(
			found.records.map((r) => r.messageId),
			["b0", "b1"],
		);
		const head = Buffer.from(found.records[1]?.body ?? new Uint8Array());
		assert.ok(head.byteLength > 0 && chunkedBinary.subarray(0, head.byteLength).equals(head));
		assert.equal(found.records[1]?.bodySize, BigInt(chunkedBinary.byteLength));
		assert.equal(
			await grpcCode(f.client.query({ environmentId: env, pageSize: 5000 })),
			Code.InvalidArgument,
		);
		assert.equal(
			await grpcCode(f.client.query({ environmentId: env, pageToken: "garbage!" })),
			Code.InvalidArgument,
		);
		// Well formed, but past what a PostgreSQL bigint holds: no response ever gave it.
		for (const forged of ["99999999999999999999:1", "1:9223372036854775808", "-9223372036854775809:1"]) {
			const pageToken = Buffer.from(forged).toString("base64url");
			assert.equal(
				await grpcCode(f.client.query({ environmentId: env, pageToken })),
				Code.InvalidArgument,
				forged,
			);
		}
		const largest = Buffer.from("9223372036854775807:9223372036854775807").toString("base64url");
		assert.equal((await f.client.query({ environmentId: env, pageToken: largest })).records.length, 0);
	});

	test("a Query page of large bodies stops before the response size limit and the next page goes on", async () => {
		const run = "run_heavy";
		const groups = Array.from({ length: 150 }, (_, i) =>
			chunksOf(message(run, `h${i}`, randomBytes(64 * 1024)), 64 * 1024),
		);
		await f.client.ingest(frames(...groups));
		const first = await f.client.query({ environmentId: env, runId: run, pageSize: 1000 });
		assert.ok(first.records.length < 150);
		assert.notEqual(first.nextPageToken, "");
		const rest = await f.client.query({
			environmentId: env,
			runId: run,
			pageSize: 1000,
			pageToken: first.nextPageToken,
		});
		assert.equal(first.records.length + rest.records.length, 150);
		assert.equal(rest.nextPageToken, "");
	});

	test("100 concurrent streams each land every message", async () => {
		const streams = Array.from({ length: 100 }, (_, s) => {
			const groups = Array.from({ length: 5 }, (_, i) =>
				chunksOf(
					message(`run_many_${s % 10}`, `s${s}_m${i}`, randomBytes(i === 0 ? 40_000 : 300)),
					16 * 1024,
				),
			);
			return f.client.ingest(frames(...groups));
		});
		const summaries = await Promise.all(streams);
		assert.ok(summaries.every((s) => s.messagesAccepted === 5n && s.rejected.length === 0));
		const counted = await f.schema.pool.query(
			"SELECT count(*)::int AS n, count(DISTINCT (run_id, run_seq))::int AS cursors FROM log_messages WHERE run_id LIKE 'run_many_%' AND state = 1",
		);
		assert.equal(counted.rows[0].n, 500);
		assert.equal(counted.rows[0].cursors, 500);
	});
});
