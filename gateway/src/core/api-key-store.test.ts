import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createTestSchema, type TestSchema, testStores } from "../../../services/kit/src/testing/stores.js";
import { migrateGateway } from "../gateway.js";
import { hashKey, looksLikeKey } from "./api-key-format.js";
import { ApiKeyStore, KeyInputError } from "./api-key-store.js";
import { RevocationListener } from "./revocation-listener.js";

describe("API key store", () => {
	let db: TestSchema;
	let store: ApiKeyStore;
	before(async () => {
		db = await createTestSchema("gw_keys");
		await migrateGateway(db.pool, db.schema);
		store = new ApiKeyStore({ pool: db.pool });
	});
	after(() => db.drop());

	test("a created key authenticates as its project's environment and only its digest is stored", async () => {
		const { key, record } = await store.create({ project: "acme", environment: "dev", description: "ci" });
		assert.ok(looksLikeKey(key));
		assert.equal(record.environmentId, "acme.dev");
		const grant = await store.authenticate(key);
		assert.deepEqual(
			{ keyId: grant?.keyId, environmentId: grant?.environmentId, project: grant?.project },
			{ keyId: record.keyId, environmentId: "acme.dev", project: "acme" },
		);
		const { rows } = await db.pool.query("SELECT row_to_json(k)::text AS row, key_hash FROM api_keys k");
		assert.equal(rows.length, 1);
		assert.equal(rows[0].row.includes(key.slice(10)), false, "the secret part is nowhere in the row");
		assert.deepEqual(rows[0].key_hash, hashKey(key));
	});

	test("a revoked key and an unknown key authenticate as nobody", async () => {
		const { key, record } = await store.create({ project: "acme", environment: "prod" });
		assert.ok(await store.authenticate(key));
		assert.equal(await store.revoke(record.keyId), true);
		assert.equal(await store.authenticate(key), undefined);
		assert.equal(await store.revoke(record.keyId), false, "revoking twice changes nothing");
		assert.equal(await store.authenticate(`tmk_${"A".repeat(43)}`), undefined);
	});

	test("an unannounced revocation is seen once the cache time has passed", async () => {
		let now = 1_000;
		const cached = new ApiKeyStore({ pool: db.pool, cacheMs: 60_000, now: () => now });
		const { key, record } = await cached.create({ project: "cache", environment: "dev" });
		assert.ok(await cached.authenticate(key));
		await db.pool.query("UPDATE api_keys SET revoked_at = now() WHERE id = $1", [record.keyId]);
		assert.ok(await cached.authenticate(key), "revoked elsewhere: still trusted within the cache time");
		now += 60_001;
		assert.equal(await cached.authenticate(key), undefined, "read again once the cache time passed");
	});

	test("a revocation made by another store reaches a listening store's cache at once", async () => {
		const { databaseUrl } = await testStores();
		const gatewayStore = new ApiKeyStore({ pool: db.pool, cacheMs: 600_000 });
		const cliStore = new ApiKeyStore({ pool: db.pool });
		const { key, record } = await cliStore.create({ project: "notify", environment: "dev" });
		const revoked: Array<string | undefined> = [];
		let heard: () => void = () => {};
		const notified = new Promise<void>((resolve) => {
			heard = resolve;
		});
		const listener = new RevocationListener({
			url: databaseUrl,
			onRevoked: (keyId) => {
				revoked.push(keyId);
				gatewayStore.forget();
				heard();
			},
		});
		await listener.start();
		try {
			assert.ok(await gatewayStore.authenticate(key), "cached as live");
			await cliStore.revoke(record.keyId);
			await notified;
			assert.ok(revoked.includes(record.keyId));
			assert.equal(await gatewayStore.authenticate(key), undefined);
		} finally {
			await listener.close();
		}
	});

	test("keys are listed per project and environment with their state, newest first", async () => {
		const first = await store.create({ project: "listed", environment: "dev" });
		const second = await store.create({
			project: "listed",
			environment: "dev",
			ratePerSecond: 5,
			rateBurst: 10,
		});
		await store.create({ project: "listed", environment: "prod" });
		await store.revoke(first.record.keyId);
		const listed = await store.list({ project: "listed", environment: "dev" });
		assert.deepEqual(
			listed.map((k) => [k.keyId, k.revokedAt === undefined, k.ratePerSecond, k.rateBurst]),
			[
				[second.record.keyId, true, 5, 10],
				[first.record.keyId, false, undefined, undefined],
			],
		);
	});

	test("a project or environment that is not a slug is refused, naming it", async () => {
		await assert.rejects(store.create({ project: "Acme Inc", environment: "dev" }), (error: unknown) => {
			assert.ok(error instanceof KeyInputError);
			assert.match(error.message, /^project "Acme Inc": expected 1 to 63 lower-case letters/);
			return true;
		});
		await assert.rejects(
			store.create({ project: "acme", environment: "a.b" }),
			/^KeyInputError: environment "a.b"/,
		);
		await assert.rejects(
			store.create({ project: "acme", environment: "dev", ratePerSecond: 0 }),
			/rate per second 0: expected a whole number from 1/,
		);
	});
});
