import { runner } from "node-pg-migrate";
import type pg from "pg";
import type { Logger } from "pino";
import { assertIdentifier } from "./pool.js";

/** Where a service's migrations are and which schema they build. */
export interface MigrationOptions {
	pool: pg.Pool;
	schema: string;
	/** Folder of numbered .sql files (`001_create_runs.sql`, ...). */
	directory: string;
	logger?: Logger;
}

/**
 * Applies a service's pending migrations in its own schema with node-pg-migrate.
 * Files are plain SQL. Replicas starting together wait on an advisory lock per
 * schema and migrate once (node-pg-migrate's own lock is one id for the whole
 * server and fails at once instead of waiting, so two services or two test files
 * starting together would refuse each other). Returns the names applied.
 */
export async function migrate(options: MigrationOptions): Promise<string[]> {
	assertIdentifier(options.schema);
	const client = await options.pool.connect();
	try {
		await client.query("SELECT pg_advisory_lock(hashtext($1))", [`taskmesh-migrate:${options.schema}`]);
		const applied = await runner({
			dbClient: client,
			dir: options.directory,
			schema: options.schema,
			createSchema: true,
			migrationsSchema: options.schema,
			migrationsTable: "schema_migrations",
			direction: "up",
			checkOrder: true,
			singleTransaction: true,
			noLock: true,
			log: (message: string) => options.logger?.debug({ migration: message }, "migration"),
		});
		const names = applied.map((m) => m.name);
		if (names.length > 0)
			options.logger?.info({ schema: options.schema, applied: names }, "migrations applied");
		return names;
	} finally {
		await client
			.query("SELECT pg_advisory_unlock(hashtext($1))", [`taskmesh-migrate:${options.schema}`])
			.catch(() => {});
		client.release();
	}
}
