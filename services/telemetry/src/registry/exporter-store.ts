import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import type pg from "pg";
import {
	type ExporterConfig,
	ExporterConfigSchema,
} from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";

/** A registry row with its config decoded. */
export interface StoredExporter {
	id: string;
	environmentId: string;
	name: string;
	config: ExporterConfig;
	revision: number;
	createdAt: Date;
	updatedAt: Date;
}

interface Row {
	id: string;
	environment_id: string;
	name: string;
	config: JsonValue;
	revision: string;
	created_at: Date;
	updated_at: Date;
}

const COLUMNS = "id, environment_id, name, config, revision, created_at, updated_at";

function decode(row: Row): StoredExporter {
	return {
		id: row.id,
		environmentId: row.environment_id,
		name: row.name,
		// Fields added to the message later are ignored by older replicas, not fatal.
		config: fromJson(ExporterConfigSchema, row.config, { ignoreUnknownFields: true }),
		revision: Number(row.revision),
		createdAt: row.created_at,
		updatedAt: row.updated_at,
	};
}

function encode(config: ExporterConfig): string {
	return JSON.stringify(toJson(ExporterConfigSchema, config));
}

/** Inserts an exporter; a duplicate name raises the unique violation (23505). */
export async function insertExporter(
	client: pg.ClientBase,
	row: { id: string; environmentId: string; config: ExporterConfig },
): Promise<StoredExporter> {
	const result = await client.query<Row>(
		`INSERT INTO exporters (id, environment_id, name, config) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
		[row.id, row.environmentId, row.config.name, encode(row.config)],
	);
	return decode(result.rows[0] as Row);
}

/** One exporter by environment and name, optionally locked for an update. */
export async function selectExporter(
	client: pg.ClientBase | pg.Pool,
	environmentId: string,
	name: string,
	forUpdate = false,
): Promise<StoredExporter | undefined> {
	const result = await client.query<Row>(
		`SELECT ${COLUMNS} FROM exporters WHERE environment_id = $1 AND name = $2${forUpdate ? " FOR UPDATE" : ""}`,
		[environmentId, name],
	);
	const row = result.rows[0];
	return row === undefined ? undefined : decode(row);
}

/** Exporters of an environment by name. */
export async function listExporters(pool: pg.Pool, environmentId: string): Promise<StoredExporter[]> {
	const result = await pool.query<Row>(
		`SELECT ${COLUMNS} FROM exporters WHERE environment_id = $1 ORDER BY name`,
		[environmentId],
	);
	return result.rows.map(decode);
}

/** Number of exporters of an environment. */
export async function countExporters(client: pg.ClientBase, environmentId: string): Promise<number> {
	const result = await client.query<{ n: string }>(
		"SELECT count(*) AS n FROM exporters WHERE environment_id = $1",
		[environmentId],
	);
	return Number(result.rows[0]?.n ?? 0);
}

/** Every exporter of every environment (what a replica runs). */
export async function listAllExporters(pool: pg.Pool): Promise<StoredExporter[]> {
	const result = await pool.query<Row>(`SELECT ${COLUMNS} FROM exporters ORDER BY environment_id, name`);
	return result.rows.map(decode);
}

/** Replaces a config and bumps the revision. */
export async function updateExporterConfig(
	client: pg.ClientBase,
	id: string,
	config: ExporterConfig,
): Promise<StoredExporter> {
	const result = await client.query<Row>(
		`UPDATE exporters SET config = $2, revision = revision + 1, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
		[id, encode(config)],
	);
	return decode(result.rows[0] as Row);
}

/** Deletes an exporter; returns its id, or undefined when there was none. */
export async function deleteExporter(
	client: pg.ClientBase,
	environmentId: string,
	name: string,
): Promise<string | undefined> {
	const result = await client.query<{ id: string }>(
		"DELETE FROM exporters WHERE environment_id = $1 AND name = $2 RETURNING id",
		[environmentId, name],
	);
	return result.rows[0]?.id;
}

/** Tells every replica listening on the channel that the registry changed (sent at commit). */
export async function notifyChange(client: pg.ClientBase, channel: string, id: string): Promise<void> {
	await client.query("SELECT pg_notify($1, $2)", [channel, id]);
}
