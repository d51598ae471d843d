import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { LogLevel } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { chunkLogMessage } from "../../../../packages/log-chunking/src/index.js";
import { copyRows } from "../../../kit/src/index.js";
import { incomingChunk } from "../rpc/convert.js";
import { type LogIngestFixture, startLogIngest } from "../testing/log-ingest-fixture.js";
import type { IncomingChunk } from "./types.js";

let f: LogIngestFixture;
before(async () => {
	f = await startLogIngest();
});
after(async () => {
	await f.close();
});

function chunks(runId: string, messageId: string, body: Uint8Array, chunkBytes = 8 * 1024): IncomingChunk[] {
	return [
		...chunkLogMessage(
			{ messageId, runId, environmentId: "env_core", header: { level: LogLevel.DEBUG }, body },
			{ chunkBytes },
		),
	].map((chunk, i) => incomingChunk(chunk, i, 0, i));
}

async function plan(sql: string, params: unknown[]): Promise<string> {
	const client = await f.schema.pool.connect();
	try {
		// Tables this small are always scanned; forbid that to see which index the query can use.
		await client.query("ANALYZE log_messages");
		await client.query("SET enable_seqscan = off");
		const result = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, params);
		return result.rows.map((r) => r["QUERY PLAN"]).join("\n");
	} finally {
		await client.query("RESET enable_seqscan");
		client.release();
	}
}

describe("LogStore", () => {
	test("binary COPY stores every column type as sent, NULLs and non-ASCII text included", async () => {
		await f.schema.pool.query(
			"CREATE TABLE copy_probe (t text, j jsonb, s smallint, i integer, b bigint, f boolean, d bytea, n text)",
		);
		const client = await f.schema.pool.connect();
		try {
			const copied = await copyRows(
				client,
				"copy_probe",
				["t", "j", "s", "i", "b", "f", "d", "n"],
				[
					[
						{ type: "text", value: "žluťoučký 🐎" },
						{ type: "jsonb", value: '{"k":"v"}' },
						{ type: "int2", value: -3 },
						{ type: "int4", value: 70_000 },
						{ type: "int8", value: 2n ** 40n },
						{ type: "bool", value: true },
						{ type: "bytea", value: Uint8Array.of(0, 255, 10, 9) },
						null,
					],
				],
			);
			assert.equal(copied, 1);
		} finally {
			client.release();
		}
		const row = (await f.schema.pool.query("SELECT * FROM copy_probe")).rows[0];
		assert.deepEqual(
			{ ...row, d: [...row.d] },
			{
				t: "žluťoučký 🐎",
				j: { k: "v" },
				s: -3,
				i: 70_000,
				b: String(2n ** 40n),
				f: true,
				d: [0, 255, 10, 9],
				n: null,
			},
		);
	});

	test("two streams sending the same message's chunks at once store it once, whole", async () => {
		const body = randomBytes(100_000);
		const all = chunks("run_race", "race", body);
		const a = f.store.session();
		const b = f.store.session();
		await Promise.all([a.accept(all), b.accept([...all].reverse())]);
		const [sa, sb] = await Promise.all([a.finish(), b.finish()]);
		assert.equal(sa.messagesAccepted + sb.messagesAccepted, 1);
		assert.equal(sa.duplicatesIgnored + sb.duplicatesIgnored, all.length);
		const parts: Uint8Array[] = [];
		for await (const piece of f.store.reader.readBody(
			{ environmentId: "env_core", runId: "run_race", messageId: "race" },
			64 * 1024,
		))
			parts.push(piece.data);
		assert.ok(Buffer.concat(parts).equals(body));
	});

	test("lines of one frame take their run's cursors in the order they were sent", async () => {
		// Ids that sort the other way round: the cursor order must be the frame's, not the ids'.
		const ids = ["z9", "m5", "b10", "a2", "b1"];
		const frame = ids.flatMap((id) => chunks("run_order", id, Buffer.from(`line ${id}`)));
		await f.store.session().accept(frame.map((chunk, i) => ({ ...chunk, index: i })));
		const { rows } = await f.schema.pool.query<{ message_id: string }>(
			"SELECT message_id FROM log_messages WHERE run_id = 'run_order' ORDER BY run_seq",
		);
		assert.deepEqual(
			rows.map((r) => r.message_id),
			ids,
		);
	});

	test("each line keeps its own attributes, however its neighbours' differ", async () => {
		const sets: Array<Record<string, string>> = [
			{ a: "1" },
			{ a: "1" },
			{ a: "2" },
			{ a: "1", b: "2" },
			{ b: "2", a: "1" },
			{ a: "1" },
			{},
			{ toString: "x" },
			{ a: "1" },
		];
		const frame = sets.flatMap((attributes, i) => [
			...chunkLogMessage({
				messageId: `attr${i}`,
				runId: "run_attributes",
				environmentId: "env_core",
				header: { level: LogLevel.INFO, attributes },
				body: Buffer.from(`line ${i}`),
			}),
		]);
		await f.store.session().accept(frame.map((chunk, i) => incomingChunk(chunk, i, 0, i)));
		const { rows } = await f.schema.pool.query<{ attributes: Record<string, string> }>(
			"SELECT attributes FROM log_messages WHERE run_id = 'run_attributes' ORDER BY run_seq",
		);
		assert.deepEqual(
			rows.map((r) => r.attributes),
			sets,
		);
	});

	test("a message that stays quiet is swept once, even when two sweeps run together", async () => {
		const partial = chunks("run_quiet", "quiet", randomBytes(30_000)).slice(0, 2);
		await f.store.session().accept(partial);
		f.clock.ms += 120_000;
		const [x, y] = await Promise.all([f.store.sweeper.sweep(), f.store.sweeper.sweep()]);
		assert.ok(x + y >= 1);
		const rows = await f.schema.pool.query(
			"SELECT state, run_seq FROM log_messages WHERE run_id = 'run_quiet' AND message_id = 'quiet'",
		);
		assert.equal(rows.rows[0].state, 2);
		assert.notEqual(rows.rows[0].run_seq, null);
		assert.equal(await f.store.sweeper.sweep(), 0);
	});

	test("Tail, Query by run, Query by time and the sweeper each read through an index, never a scan", async () => {
		const lines = Array.from({ length: 2000 }, (_, i) =>
			chunks(`run_plan_${i % 40}`, `p${i}`, Buffer.from(`line ${i}`)),
		).flat();
		await f.store.session().accept(lines);
		const tail = await plan(
			"SELECT id FROM log_messages WHERE environment_id = $1 AND run_id = $2 AND run_seq > $3 AND run_seq IS NOT NULL ORDER BY run_seq LIMIT 100",
			["env_core", "run_plan_1", 0],
		);
		// Either index on (environment, run) narrows the read to the run; what matters is no scan.
		assert.match(tail, /on log_messages_(tail|run_time)/);
		const byRun = await plan(
			"SELECT id FROM log_messages WHERE environment_id = $1 AND run_seq IS NOT NULL AND run_id = $2 ORDER BY logged_at_us, id LIMIT 100",
			["env_core", "run_plan_1"],
		);
		assert.match(byRun, /on log_messages_(run_time|tail)/);
		const byTime = await plan(
			"SELECT id FROM log_messages WHERE environment_id = $1 AND run_seq IS NOT NULL AND logged_at_us >= $2 ORDER BY logged_at_us, id LIMIT 100",
			["env_core", 0],
		);
		assert.match(byTime, /log_messages_env_time/);
		const sweep = await plan(
			"SELECT id FROM log_messages WHERE state = 0 AND last_chunk_at_ms < $1 ORDER BY last_chunk_at_ms LIMIT 500",
			[0],
		);
		assert.match(sweep, /log_messages_receiving/);
		for (const p of [tail, byRun, byTime, sweep]) assert.doesNotMatch(p, /Seq Scan/);
	});
});
