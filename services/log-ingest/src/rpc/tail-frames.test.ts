import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
	type IngestRequest,
	IngestRequestSchema,
	LogLevel,
} from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage } from "../../../../packages/log-chunking/src/index.js";
import { type LogIngestFixture, startLogIngest } from "../testing/log-ingest-fixture.js";
import { TAIL_FRAME_BODY_BYTES } from "./log-ingest-service.js";

let f: LogIngestFixture;
const env = "env_tail_frames";

before(async () => {
	f = await startLogIngest();
});
after(async () => {
	await f.close();
});

test("Tail frames carry at most 1 MiB of bodies, so a follower that stops reading pins little", async () => {
	const run = "run_wide_tail";
	const bodies = Array.from({ length: 40 }, () => randomBytes(60 * 1024));
	async function* frames(): AsyncGenerator<IngestRequest> {
		const chunks = bodies.flatMap((body, i) => [
			...chunkLogMessage({
				messageId: `w${i}`,
				runId: run,
				environmentId: env,
				header: { level: LogLevel.INFO, time: timestampFromMs(Date.parse("2026-01-01T00:00:00Z")) },
				body,
			}),
		]);
		for (let at = 0; at < chunks.length; at += 10)
			yield create(IngestRequestSchema, { chunks: chunks.slice(at, at + 10) });
	}
	assert.equal((await f.client.ingest(frames())).messagesAccepted, 40n);
	const stop = new AbortController();
	const sizes: number[] = [];
	const ids: string[] = [];
	for await (const frame of f.client.tail({ environmentId: env, runId: run }, { signal: stop.signal })) {
		sizes.push(frame.records.reduce((n, r) => n + r.body.byteLength, 0));
		ids.push(...frame.records.map((r) => r.messageId));
		if (ids.length >= 40) break;
	}
	stop.abort();
	assert.equal(TAIL_FRAME_BODY_BYTES, 1024 * 1024);
	assert.ok(
		sizes.every((bytes) => bytes <= TAIL_FRAME_BODY_BYTES),
		`frames of ${sizes.join(", ")} bytes`,
	);
	// Nothing is lost or repeated by the smaller frames.
	assert.deepEqual(
		ids,
		bodies.map((_, i) => `w${i}`),
	);
});
