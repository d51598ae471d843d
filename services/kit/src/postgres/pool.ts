import pg from "pg";

/** Options of a service's PostgreSQL pool. */
export interface PostgresPoolOptions {
	url: string;
	/** The service's own schema; every query runs with it first on the search path. */
	schema: string;
	max?: number;
	applicationName?: string;
}

/**
 * A pg pool whose connections use the service's schema, so that each service
 * owns its tables and tests can isolate themselves with a schema of their own.
 */
export function createPostgresPool(options: PostgresPoolOptions): pg.Pool {
	assertIdentifier(options.schema);
	return new pg.Pool({
		connectionString: withDefaultUser(options.url),
		max: options.max ?? 10,
		application_name: options.applicationName ?? `taskmesh-${options.schema}`,
		options: `-c search_path=${options.schema},public`,
	});
}

/** Throws unless the name is a plain lower-case SQL identifier. */
export function assertIdentifier(name: string): void {
	if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
		throw new Error(`"${name}" is not a valid schema name (lower-case letters, digits, _; at most 63)`);
	}
}

/**
 * The role to connect as when the URL names none. libpq falls back to the OS
 * user, which containers and CI runners often leave unset; "postgres" is the
 * role every installation has.
 */
export function withDefaultUser(url: string): string {
	const parsed = new URL(url);
	if (parsed.username !== "") return url;
	parsed.username = process.env.PGUSER || process.env.USER || "postgres";
	return parsed.toString();
}
