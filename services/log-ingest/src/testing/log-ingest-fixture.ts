import type { Client } from "@connectrpc/connect";
import { pino } from "pino";
import { LogIngestService } from "../../../../gen/taskmesh/logs/v1/logs_pb.js";
import { DEFAULT_CHUNK_LIMITS } from "../../../../packages/log-chunking/src/index.js";
import { type GrpcServiceHost, migrate, registration } from "../../../kit/src/index.js";
import { startTestServer, testClient } from "../../../kit/src/testing/grpc.js";
import { createTestSchema, type TestSchema, testStores } from "../../../kit/src/testing/stores.js";
import { loadLogIngestConfig, receiveWindowsOf } from "../config.js";
import { LogStore } from "../core/log-store.js";
import { MIGRATIONS_DIRECTORY } from "../log-ingest-module.js";
import { logIngestImplementation } from "../rpc/log-ingest-service.js";
import { servedLogIngestService } from "../rpc/served-service.js";

/** A clock tests move by hand. */
export class ManualClock {
	constructor(public ms = Date.now()) {}
	now(): number {
		return this.ms;
	}
}

/** A log-ingest service on a real gRPC server over its own schema, and a client to it. */
export interface LogIngestFixture {
	schema: TestSchema;
	store: LogStore;
	clock: ManualClock;
	host: GrpcServiceHost;
	client: Client<typeof LogIngestService>;
	close(): Promise<void>;
}

/** Starts the service as its module would, with small caps so limits are cheap to reach. */
export async function startLogIngest(
	options: { maxMessageBytes?: number; maxChunkBytes?: number; maxFrameInflatedBytes?: number } = {},
): Promise<LogIngestFixture> {
	const schema = await createTestSchema("log_ingest_test");
	await migrate({ pool: schema.pool, schema: schema.schema, directory: MIGRATIONS_DIRECTORY });
	const clock = new ManualClock();
	const { databaseUrl } = await testStores();
	const store = await LogStore.open({
		pool: schema.pool,
		databaseUrl,
		schema: schema.schema,
		settings: {
			limits: {
				...DEFAULT_CHUNK_LIMITS,
				maxMessageBytes: options.maxMessageBytes ?? DEFAULT_CHUNK_LIMITS.maxMessageBytes,
				maxChunkBytes: options.maxChunkBytes ?? DEFAULT_CHUNK_LIMITS.maxChunkBytes,
			},
			maxFrameInflatedBytes: options.maxFrameInflatedBytes ?? 64 * 1024 * 1024,
			inlineBodyBytes: 64 * 1024,
		},
		clock,
		logger: pino({ level: "silent" }),
		incompleteAfterMs: 60_000,
		sweepIntervalMs: 0,
		tailPollMs: 60_000,
	});
	// Served with the production receive windows, so memory bounds are tested as deployed.
	const host = await startTestServer(
		[
			registration(
				servedLogIngestService,
				logIngestImplementation({ store, inlineBodyBytes: 64 * 1024, maxFrameBytes: 4 * 1024 * 1024 }),
			),
		],
		{ receiveWindows: receiveWindowsOf(loadLogIngestConfig({})) },
	);
	const client = testClient(LogIngestService, host.url);
	return {
		schema,
		store,
		clock,
		host,
		client,
		async close() {
			await host.drain();
			await store.close();
			await schema.drop();
		},
	};
}
