/**
 * bench:postgres — how bytes reach PostgreSQL, each way beside the one it replaced, in
 * the same run on the same connection:
 *
 * 1. body heads (16 × 64 KiB, log ingest's updateMessages): inside a `bytea[]`
 *    parameter (node-postgres writes hex text) against one packed binary parameter
 *    (the kit's packBytes);
 * 2. one task output of 4 MiB (the scheduler's CompleteAttempt): the same two ways;
 * 3. one payload of 3 MiB in rows read by json_to_recordset (the scheduler's statement
 *    insert): base64 inside the JSON against packed;
 * 4. 100,000 items of one batch loaded by COPY into batch_items with the index of every
 *    item's run id (before migration 003) against with the index of open cached items
 *    only (after), run ids time-ordered as the scheduler makes them.
 *
 *   npx tsx bench/postgres-params.ts      (ROUNDS=7 to change the number of rounds)
 *
 * Each line gives the median of the rounds, the two ways alternating, and the ratio
 * new / old; the last line is the ratio of the batch items' COPY.
 */
import { randomBytes } from "node:crypto";
import { unlinkSync, writeFileSync } from "node:fs";
import { packBytes } from "../services/kit/src/index.js";
import { createTestSchema, testStores } from "../services/kit/src/testing/stores.js";

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const KiB = 1024;
const MiB = 1024 * KiB;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Median milliseconds of each way, the ways alternating within every round. */
async function pair(old: () => Promise<unknown>, packed: () => Promise<unknown>): Promise<[number, number]> {
	const times: [number[], number[]] = [[], []];
	await old();
	await packed();
	for (let round = 0; round < ROUNDS; round++) {
		for (const [i, run] of [old, packed].entries()) {
			const start = performance.now();
			await run();
			times[i as 0 | 1].push(performance.now() - start);
		}
	}
	return [median(times[0]), median(times[1])];
}

function report(what: string, ways: [string, string], [old, now]: [number, number]): number {
	console.log(
		`${what}: ${ways[0]} ${old.toFixed(1)} ms, ${ways[1]} ${now.toFixed(1)} ms (new/old ${(now / old).toFixed(2)})`,
	);
	return now / old;
}

/** Item rows of one batch as COPY text, with run ids as the scheduler makes them (time first). */
function itemRows(count: number): string {
	const lines: string[] = [];
	const start = Date.now();
	for (let i = 0; i < count; i++) {
		const runId = `run_${(start + Math.floor(i / 30)).toString(36).padStart(9, "0")}${randomBytes(8).toString("hex")}`;
		lines.push(`batch_bench\t${i}\t${runId}\ttask-a\tQUEUED\tf\tf`);
	}
	return `${lines.join("\n")}\n`;
}

await testStores();
const schema = await createTestSchema("bench_pg_params");
try {
	const db = await schema.pool.connect();
	try {
		// Values summed on the server, sent as a `bytea[]` (hex text) or packed into one binary parameter.
		const asArrayOrPacked = async (label: string, values: Buffer[]) =>
			report(
				label,
				["bytea[]", "packed"],
				await pair(
					() => db.query("SELECT sum(length(v)) FROM unnest($1::bytea[]) AS v", [values]),
					() => {
						const p = packBytes(values);
						return db.query(
							"SELECT sum(length(substring($1::bytea FROM s FOR l))) FROM unnest($2::int[], $3::int[]) AS u(s, l)",
							[p.bytes, p.starts, p.lengths],
						);
					},
				),
			);
		await asArrayOrPacked(
			"16 body heads of 64 KiB",
			Array.from({ length: 16 }, () => randomBytes(64 * KiB)),
		);
		await asArrayOrPacked("one 4 MiB output", [randomBytes(4 * MiB)]);
		const payload = randomBytes(3 * MiB);
		report(
			"one 3 MiB payload in JSON rows",
			["base64 in the JSON", "packed"],
			await pair(
				() =>
					db.query(
						"SELECT sum(length(decode(r.payload, 'base64'))) FROM json_to_recordset($1::json) AS r(id text, payload text)",
						[JSON.stringify([{ id: "run_a", payload: payload.toString("base64") }])],
					),
				() => {
					const p = packBytes([payload]);
					return db.query(
						`SELECT sum(length(substring($2::bytea FROM r.payload_start FOR r.payload_length)))
						 FROM json_to_recordset($1::json) AS r(id text, payload_start int, payload_length int)`,
						[
							JSON.stringify([{ id: "run_a", payload_start: p.starts[0], payload_length: p.lengths[0] }]),
							p.bytes,
						],
					);
				},
			),
		);

		// The items table as migration 001 made it, and as migration 003 leaves it.
		const columns = `batch_id text NOT NULL, item_index integer NOT NULL, run_id text NOT NULL,
			task_id text NOT NULL, status text NOT NULL, final boolean NOT NULL DEFAULT false,
			cached boolean NOT NULL DEFAULT false, PRIMARY KEY (batch_id, item_index)`;
		await db.query(`CREATE TABLE items_before (${columns})`);
		await db.query("CREATE INDEX ON items_before (run_id) WHERE NOT final");
		await db.query("CREATE INDEX ON items_before (batch_id, item_index) WHERE cached AND NOT final");
		await db.query(`CREATE TABLE items_after (${columns})`);
		await db.query("CREATE INDEX ON items_after (run_id) WHERE cached AND NOT final");
		await db.query("CREATE INDEX ON items_after (batch_id, item_index) WHERE cached AND NOT final");
		// Read by the server itself (COPY FROM a file), as bench:logs' baseline is: it needs a
		// PostgreSQL superuser on this host.
		const file = `/tmp/${schema.schema}_items.copy`;
		writeFileSync(file, itemRows(100_000), { mode: 0o644 });
		const load = (table: string) => async () => {
			await db.query(`TRUNCATE ${table}`);
			await db.query(`COPY ${table} FROM '${file}'`);
		};
		const ratio = report(
			"100,000 batch items by COPY",
			["every run id indexed (before 003)", "open cached items only (003)"],
			await pair(load("items_before"), load("items_after")),
		);
		unlinkSync(file);
		console.log(`ratio: ${ratio.toFixed(2)}`);
	} finally {
		db.release();
	}
} finally {
	await schema.drop();
	await schema.pool.end().catch(() => {});
}
