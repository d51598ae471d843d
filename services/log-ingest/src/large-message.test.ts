import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
	type IngestRequest,
	IngestRequestSchema,
	type LogChunk,
	LogIngestService,
	LogLevel,
} from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage } from "../../../packages/log-chunking/src/index.js";
import { testClient } from "../../kit/src/testing/grpc.js";
import { createTestSchema, type TestSchema, testStores } from "../../kit/src/testing/stores.js";
import { type ChildService, spawnService } from "./testing/child-service.js";

const MiB = 1024 * 1024;
let schema: TestSchema;
let service: ChildService;

before(async () => {
	schema = await createTestSchema("log_ingest_large");
	const { databaseUrl } = await testStores();
	// The service runs with a 128 MiB heap limit, as a sized container would give it:
	// without one, how late V8 collects garbage depends on CPU contention, and under a
	// loaded test run uncollected garbage alone moved the peak past the bound.
	service = await spawnService({ DATABASE_URL: databaseUrl, LOG_INGEST_DATABASE_SCHEMA: schema.schema }, [
		"--max-old-space-size=128",
	]);
});
after(async () => {
	await service?.stop();
	await schema?.drop();
});

/** The message's chunks in frames of 16 (1 MiB), produced lazily as the stream asks. */
async function* framesOf(messageId: string, body: Buffer): AsyncGenerator<IngestRequest> {
	const chunks = chunkLogMessage({
		messageId,
		runId: "run_large",
		environmentId: "env_large",
		header: { level: LogLevel.INFO },
		body,
	});
	let frame: LogChunk[] = [];
	for (const chunk of chunks) {
		frame.push(chunk);
		if (frame.length === 16) {
			yield create(IngestRequestSchema, { chunks: frame });
			frame = [];
		}
	}
	if (frame.length > 0) yield create(IngestRequestSchema, { chunks: frame });
}

/** Sends a message and reads it back whole; returns the SHA-256 of what came back. */
async function roundTrip(
	client: ReturnType<typeof testClient<typeof LogIngestService>>,
	messageId: string,
	body: Buffer,
): Promise<string> {
	const summary = await client.ingest(framesOf(messageId, body));
	assert.equal(summary.messagesAccepted, 1n);
	assert.equal(summary.bytesAccepted, BigInt(body.byteLength));
	const hash = createHash("sha256");
	let offset = 0n;
	for await (const piece of client.readMessageBody({
		environmentId: "env_large",
		runId: "run_large",
		messageId,
	})) {
		assert.equal(piece.offset, offset);
		hash.update(piece.data);
		offset += BigInt(piece.data.byteLength);
	}
	assert.equal(offset, BigInt(body.byteLength));
	return hash.digest("hex");
}

test("a 50 MiB message round-trips byte-exact while the service's resident memory grows by less than 32 MiB", async () => {
	const client = testClient(LogIngestService, service.url);
	const shown = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
	// What a stream leaves behind is garbage in external memory (the buffers frames
	// arrive in), which V8 collects only once tens of MiB of it have piled up, so a
	// single reading of resident memory lands anywhere in that cycle. The reference is
	// therefore the peak while 4 MiB messages pass, twelve of them, as many bytes as
	// the large one: the same garbage, with at most 4 MiB of message to hold. The
	// large message's peak may exceed it by less than 32 MiB; a service that held a
	// message whole, or buffered a stream without bound, exceeds it by 46 MiB or more.
	await roundTrip(client, "first", randomBytes(4 * MiB)); // pool connections and code paths
	service.resetPeak();
	for (let index = 0; index < 12; index++) {
		const body = randomBytes(4 * MiB);
		assert.equal(
			await roundTrip(client, `small-${index}`, body),
			createHash("sha256").update(body).digest("hex"),
		);
	}
	const reference = service.memory().peak;

	const body = randomBytes(50 * MiB);
	const expected = createHash("sha256").update(body).digest("hex");
	// A collection that comes late on a loaded machine can still add a few MiB, so
	// the message is sent up to twice and the lower peak is the reading.
	const growths: number[] = [];
	for (let attempt = 1; attempt <= 2; attempt++) {
		service.resetPeak();
		assert.equal(await roundTrip(client, `large-${attempt}`, body), expected);
		growths.push(service.memory().peak - reference);
		if ((growths.at(-1) as number) < 32 * MiB) break;
	}
	const growth = Math.min(...growths);
	assert.ok(
		growth < 32 * MiB,
		`resident memory's peak grew by ${shown(growth)} over its peak while 4 MiB messages passed (readings: ${growths.map(shown).join(", ")})`,
	);
});
