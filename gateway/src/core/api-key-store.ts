import type pg from "pg";
import { displayPrefix, environmentIdOf, generateKey, hashKey, newKeyId, SLUG } from "./api-key-format.js";
import { REVOCATION_CHANNEL } from "./revocation-listener.js";

/** What a valid key grants: one environment of one project. */
export interface KeyGrant {
	keyId: string;
	project: string;
	environment: string;
	/** The id every service scopes its data by. */
	environmentId: string;
	/** Per-key rate overrides, when set. */
	ratePerSecond: number | undefined;
	rateBurst: number | undefined;
}

/** A key as listed (never the key itself). */
export interface KeyRecord extends KeyGrant {
	keyPrefix: string;
	description: string;
	createdAt: Date;
	revokedAt: Date | undefined;
}

/** What creating a key needs. */
export interface CreateKeyInput {
	project: string;
	environment: string;
	description?: string;
	ratePerSecond?: number;
	rateBurst?: number;
}

/** A bad argument to a key operation; the message names it. */
export class KeyInputError extends Error {
	override readonly name = "KeyInputError";
}

interface KeyRow {
	id: string;
	key_prefix: string;
	project: string;
	environment: string;
	environment_id: string;
	description: string;
	rate_per_second: number | null;
	rate_burst: number | null;
	created_at: Date;
	revoked_at: Date | null;
}

const COLUMNS =
	"id, key_prefix, project, environment, environment_id, description, rate_per_second, rate_burst, created_at, revoked_at";

/**
 * API keys in PostgreSQL, stored as SHA-256 digests. Lookups are cached for
 * `cacheMs` so a busy key costs no query per call; a revocation is announced
 * with NOTIFY so listening gateways forget at once (see RevocationListener),
 * and is seen within `cacheMs` even by one that missed it.
 */
export class ApiKeyStore {
	private readonly pool: pg.Pool;
	private readonly cacheMs: number;
	private readonly now: () => number;
	private readonly cache = new Map<string, { grant: KeyGrant | undefined; until: number }>();

	constructor(options: { pool: pg.Pool; cacheMs?: number; now?: () => number }) {
		this.pool = options.pool;
		this.cacheMs = options.cacheMs ?? 0;
		this.now = options.now ?? Date.now;
	}

	/** Creates a key and returns it with its record; the key is never readable again. */
	async create(input: CreateKeyInput): Promise<{ key: string; record: KeyRecord }> {
		checkSlug("project", input.project);
		checkSlug("environment", input.environment);
		checkPositive("rate per second", input.ratePerSecond);
		checkPositive("rate burst", input.rateBurst);
		const key = generateKey();
		const { rows } = await this.pool.query<KeyRow>(
			`INSERT INTO api_keys (id, key_hash, key_prefix, project, environment, environment_id, description, rate_per_second, rate_burst)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
			[
				newKeyId(),
				hashKey(key),
				displayPrefix(key),
				input.project,
				input.environment,
				environmentIdOf(input.project, input.environment),
				input.description ?? "",
				input.ratePerSecond ?? null,
				input.rateBurst ?? null,
			],
		);
		return { key, record: toRecord(rows[0] as KeyRow) };
	}

	/** Revokes a key by id; false when no live key has that id. */
	async revoke(keyId: string): Promise<boolean> {
		// The notification goes out when the update commits; every gateway listening drops its cache.
		const { rowCount } = await this.pool.query(
			`WITH revoked AS (
				UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING id
			) SELECT pg_notify('${REVOCATION_CHANNEL}', id) FROM revoked`,
			[keyId],
		);
		this.forget();
		return (rowCount ?? 0) > 0;
	}

	/** Drops every cached lookup (a key was revoked somewhere). */
	forget(): void {
		this.cache.clear();
	}

	/** Keys of a project (and environment), newest first, revoked ones included. */
	async list(filter: { project?: string; environment?: string } = {}): Promise<KeyRecord[]> {
		const { rows } = await this.pool.query<KeyRow>(
			`SELECT ${COLUMNS} FROM api_keys
			 WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR environment = $2)
			 ORDER BY created_at DESC, id`,
			[filter.project ?? null, filter.environment ?? null],
		);
		return rows.map(toRecord);
	}

	/** The grant of a live key, or undefined for an unknown or revoked one. */
	async authenticate(key: string): Promise<KeyGrant | undefined> {
		const digest = hashKey(key);
		const cacheKey = digest.toString("base64");
		const now = this.now();
		const cached = this.cache.get(cacheKey);
		if (cached !== undefined && cached.until > now) return cached.grant;
		const { rows } = await this.pool.query<KeyRow>(
			`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
			[digest],
		);
		const row = rows[0];
		const grant = row === undefined ? undefined : toGrant(row);
		if (this.cacheMs > 0) {
			// Bounded so a flood of random keys cannot grow memory without end.
			if (this.cache.size >= 10_000) this.cache.clear();
			this.cache.set(cacheKey, { grant, until: now + this.cacheMs });
		}
		return grant;
	}
}

function checkSlug(name: string, value: string): void {
	if (!SLUG.test(value)) {
		throw new KeyInputError(
			`${name} "${value}": expected 1 to 63 lower-case letters, digits or -, starting with a letter or digit`,
		);
	}
}

function checkPositive(name: string, value: number | undefined): void {
	if (value !== undefined && !(Number.isInteger(value) && value >= 1 && value <= 10_000_000)) {
		throw new KeyInputError(`${name} ${value}: expected a whole number from 1 to 10000000`);
	}
}

function toGrant(row: KeyRow): KeyGrant {
	return {
		keyId: row.id,
		project: row.project,
		environment: row.environment,
		environmentId: row.environment_id,
		ratePerSecond: row.rate_per_second ?? undefined,
		rateBurst: row.rate_burst ?? undefined,
	};
}

function toRecord(row: KeyRow): KeyRecord {
	return {
		...toGrant(row),
		keyPrefix: row.key_prefix,
		description: row.description,
		createdAt: row.created_at,
		revokedAt: row.revoked_at ?? undefined,
	};
}
