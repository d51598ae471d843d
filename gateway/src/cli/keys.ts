import { parseArgs } from "node:util";
import { ConfigError, createPostgresPool, loadPlatformConfig } from "../../../services/kit/src/index.js";
import { ApiKeyStore, KeyInputError, type KeyRecord } from "../core/api-key-store.js";
import { migrateGateway } from "../gateway.js";
import { loadGatewayConfig } from "../gateway-config.js";

const usage = `usage:
  npm run keys -- create --project <slug> --environment <slug> [--description <text>]
                         [--rate-per-second <n>] [--burst <n>] [--json]
  npm run keys -- revoke <key id>
  npm run keys -- list [--project <slug>] [--environment <slug>] [--json]

Keys live in DATABASE_URL, schema GATEWAY_DATABASE_SCHEMA (default "gateway").
A created key is printed once; only its SHA-256 digest is stored.`;

// `npm run keys -- ...`: creates, revokes and lists API keys of the gateway.
const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		project: { type: "string" },
		environment: { type: "string" },
		description: { type: "string" },
		"rate-per-second": { type: "string" },
		burst: { type: "string" },
		json: { type: "boolean", default: false },
		help: { type: "boolean", short: "h", default: false },
	},
});

const [command, ...rest] = positionals;
if (values.help || command === undefined) exit(values.help ? 0 : 64, usage);

let pool: ReturnType<typeof createPostgresPool> | undefined;
try {
	const config = loadPlatformConfig();
	const gateway = loadGatewayConfig();
	pool = createPostgresPool({ url: config.DATABASE_URL, schema: gateway.GATEWAY_DATABASE_SCHEMA, max: 1 });
	await migrateGateway(pool, gateway.GATEWAY_DATABASE_SCHEMA);
	const store = new ApiKeyStore({ pool });
	switch (command) {
		case "create": {
			if (values.project === undefined || values.environment === undefined) {
				exit(64, `create needs --project and --environment\n\n${usage}`);
			}
			const { key, record } = await store.create({
				project: values.project,
				environment: values.environment,
				...(values.description === undefined ? {} : { description: values.description }),
				...optionalInt("ratePerSecond", "--rate-per-second", values["rate-per-second"]),
				...optionalInt("rateBurst", "--burst", values.burst),
			});
			if (values.json) {
				print(JSON.stringify({ key, ...publicRecord(record) }));
			} else {
				print(
					`Created ${record.keyId} for ${record.project}/${record.environment} (environment id ${record.environmentId}).`,
				);
				print("Store the key now; it is not shown again:");
				print(key);
			}
			break;
		}
		case "revoke": {
			const keyId = rest[0];
			if (keyId === undefined) exit(64, `revoke needs a key id\n\n${usage}`);
			if (!(await store.revoke(keyId))) exit(1, `no live key with id ${keyId}`);
			print(`Revoked ${keyId}.`);
			break;
		}
		case "list": {
			const records = await store.list({
				...(values.project === undefined ? {} : { project: values.project }),
				...(values.environment === undefined ? {} : { environment: values.environment }),
			});
			if (values.json) print(JSON.stringify(records.map(publicRecord)));
			else {
				for (const r of records) {
					const state = r.revokedAt === undefined ? "live" : `revoked ${r.revokedAt.toISOString()}`;
					print(`${r.keyId}  ${r.keyPrefix}…  ${r.project}/${r.environment}  ${state}  ${r.description}`);
				}
			}
			break;
		}
		default:
			exit(64, `unknown command "${command}"\n\n${usage}`);
	}
} catch (error) {
	if (error instanceof ConfigError || error instanceof KeyInputError)
		exit(error instanceof ConfigError ? 78 : 65, error.message);
	throw error;
} finally {
	await pool?.end();
}

function publicRecord(record: KeyRecord) {
	return {
		id: record.keyId,
		prefix: record.keyPrefix,
		project: record.project,
		environment: record.environment,
		environmentId: record.environmentId,
		description: record.description,
		createdAt: record.createdAt.toISOString(),
		revokedAt: record.revokedAt?.toISOString() ?? null,
	};
}

function optionalInt<K extends string>(
	key: K,
	flag: string,
	value: string | undefined,
): Partial<Record<K, number>> {
	if (value === undefined) return {};
	if (!/^\d+$/.test(value)) exit(64, `${flag} "${value}": expected a whole number`);
	return { [key]: Number(value) } as Partial<Record<K, number>>;
}

function print(line: string): void {
	process.stdout.write(`${line}\n`);
}

function exit(code: number, message: string): never {
	(code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
	process.exit(code);
}
