/**
 * The durable floor of a batch: how fast PostgreSQL alone stores the rows a sealed
 * batch consists of, loaded in its best form — the server's own binary COPY from a
 * file, one per table, the tables loaded at once on two connections, no transaction
 * per chunk, no foreign-key checks — into empty copies of the real tables with all
 * their indexes. No design that keeps every child run and item in PostgreSQL can
 * create items faster than this, whatever it does in front of the database.
 *
 * Server-side COPY reads and writes files on the database host, so this needs a
 * PostgreSQL superuser on the same machine (as bench:logs does).
 */
import pg from "pg";
import { randomSuffix } from "../services/kit/src/testing/stores.js";

/** The rows of one batch in one table: `schema.table` rows whose batch_id is the batch's. */
export interface BatchRows {
	schema: string;
	table: string;
}

export interface FloorTiming {
	/** Wall time of loading every table at once. */
	seconds: number;
	/** Wall time of each table's load (they overlap). */
	perTable: Map<string, number>;
	rows: Map<string, number>;
}

async function connect(databaseUrl: string): Promise<pg.Client> {
	const client = new pg.Client({ connectionString: databaseUrl });
	await client.connect();
	return client;
}

/**
 * Exports the batch's rows of every table to a file, then times loading those files
 * into empty copies of the tables (LIKE ... INCLUDING ALL: same columns, defaults,
 * indexes and constraints other than foreign keys), all tables at once.
 */
export async function copyFloor(
	databaseUrl: string,
	batchId: string,
	tables: BatchRows[],
): Promise<FloorTiming> {
	const scratch = `bench_floor_${randomSuffix()}`;
	const admin = await connect(databaseUrl);
	const loaders = await Promise.all(tables.map(() => connect(databaseUrl)));
	const files = tables.map(({ table }) => `/tmp/${scratch}_${table}.copy`);
	try {
		await admin.query(`CREATE SCHEMA ${scratch}`);
		const rows = new Map<string, number>();
		for (const [i, { schema, table }] of tables.entries()) {
			await admin.query(`CREATE TABLE ${scratch}.${table} (LIKE ${schema}.${table} INCLUDING ALL)`);
			// The id is this bench's own, never user input; COPY takes no parameters.
			const out = await admin.query(
				`COPY (SELECT * FROM ${schema}.${table} WHERE batch_id = '${batchId}') TO '${files[i]}' (FORMAT binary)`,
			);
			rows.set(table, out.rowCount ?? 0);
		}
		const perTable = new Map<string, number>();
		const started = performance.now();
		await Promise.all(
			tables.map(async ({ table }, i) => {
				const tableStarted = performance.now();
				await loaders[i]?.query(`COPY ${scratch}.${table} FROM '${files[i]}' (FORMAT binary)`);
				perTable.set(table, (performance.now() - tableStarted) / 1_000);
			}),
		);
		const seconds = (performance.now() - started) / 1_000;
		for (const { table } of tables) {
			const { rows: counted } = await admin.query<{ n: string }>(
				`SELECT count(*) AS n FROM ${scratch}.${table}`,
			);
			if (Number(counted[0]?.n) !== rows.get(table))
				throw new Error(`the floor loaded ${counted[0]?.n} rows of ${table}, expected ${rows.get(table)}`);
		}
		return { seconds, perTable, rows };
	} finally {
		await admin.query(`COPY (SELECT 1) TO PROGRAM 'rm -f ${files.join(" ")}'`).catch(() => {});
		await admin.query(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
		await admin.end();
		await Promise.all(loaders.map((client) => client.end()));
	}
}
