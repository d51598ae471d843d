import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, RetryInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { LogIngestService, LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { QueueService } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import { SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { testClient } from "../../../services/kit/src/testing/grpc.js";
import { runToExit } from "../../../services/kit/src/testing/process.js";
import { testStores } from "../../../services/kit/src/testing/stores.js";
import { type GatewayPlatform, startGatewayPlatform, type TestKey } from "../testing/gateway-platform.js";
import { bufCurl, connectJson, curl, gatewayClient } from "../testing/http-calls.js";

const keysCli = fileURLToPath(new URL("../cli/keys.ts", import.meta.url));
const READ_MAX_BYTES = 64 * 1024;

describe("the gateway over HTTP", () => {
	let platform: GatewayPlatform;
	let dev: TestKey;
	let base: string;
	const rpc = (method: string) => `${base}/taskmesh.queue.v1.QueueService/${method}`;

	before(async () => {
		platform = await startGatewayPlatform({
			GATEWAY_READ_MAX_BYTES: String(READ_MAX_BYTES),
			GATEWAY_CORS_ORIGINS: "https://app.example.com",
		});
		base = platform.gateway.url;
		dev = await platform.createKey("dev");
	});
	after(() => platform?.stop());

	test("curl posts JSON over HTTP/1.1 and the call acts in the key's environment", async () => {
		const response = await curl(rpc("UpdateQueue"), connectJson(dev.key, { queue: "emails", paused: true }));
		assert.equal(response.status, 200, response.body);
		assert.equal(response.httpVersion, "1.1");
		assert.equal(response.headers.get("content-type"), "application/json");
		const queue = response.json().queue as Record<string, unknown>;
		assert.deepEqual([queue.environmentId, queue.name, queue.paused], [dev.environmentId, "emails", true]);
	});

	test("a side-effect-free method answers GET with the message in the query; others refuse GET", async () => {
		await curl(rpc("UpdateQueue"), connectJson(dev.key, { queue: "reports" }));
		const message = encodeURIComponent(JSON.stringify({ queue: "reports" }));
		const auth = ["-H", `authorization: Bearer ${dev.key}`];
		const got = await curl(`${rpc("GetQueue")}?encoding=json&message=${message}`, auth);
		assert.equal(got.status, 200, got.body);
		assert.equal((got.json().queue as Record<string, unknown>).name, "reports");
		const refused = await curl(`${rpc("UpdateQueue")}?encoding=json&message=${message}`, auth);
		assert.equal(refused.status, 405);
	});

	for (const protocol of ["connect", "grpcweb", "grpc"] as const) {
		test(`buf curl calls the gateway over ${protocol}`, async () => {
			await curl(rpc("UpdateQueue"), connectJson(dev.key, { queue: `via-${protocol}` }));
			const result = await bufCurl(protocol, rpc("GetQueue"), dev.key, { queue: `via-${protocol}` });
			assert.equal(result.code, 0, result.stderr);
			const queue = (JSON.parse(result.stdout) as { queue: { name: string; environmentId: string } }).queue;
			assert.deepEqual([queue.name, queue.environmentId], [`via-${protocol}`, dev.environmentId]);
		});
	}

	for (const protocol of ["connect-json", "connect-binary", "grpc-web", "grpc"] as const) {
		test(`a Connect client over ${protocol} gets the service's error code and field violations`, async () => {
			const client = gatewayClient(QueueService, base, dev.key, protocol);
			await assert.rejects(client.updateQueue({ queue: "bad", maxNacks: -3 }), (error: unknown) => {
				const e = ConnectError.from(error);
				assert.equal(e.code, Code.InvalidArgument);
				assert.equal(e.rawMessage, "max_nacks: -3 is outside 1 to 1000");
				assert.deepEqual(
					e.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field)),
					["max_nacks"],
				);
				return true;
			});
		});
	}

	test("INVALID_ARGUMENT with field violations arrives as HTTP 400 with the Connect JSON error body", async () => {
		const response = await curl(rpc("UpdateQueue"), connectJson(dev.key, { queue: "q", maxNacks: 0 }));
		assert.equal(response.status, 400);
		const body = response.json() as {
			code: string;
			message: string;
			details: Array<{ type: string; value: string }>;
		};
		assert.equal(body.code, "invalid_argument");
		assert.equal(body.message, "max_nacks: 0 is outside 1 to 1000");
		assert.equal(body.details[0]?.type, "google.rpc.BadRequest");
		const detail = fromBinary(BadRequestSchema, Buffer.from(body.details[0]?.value ?? "", "base64"));
		assert.deepEqual(
			detail.fieldViolations.map((v) => [v.field, v.description]),
			[["max_nacks", "0 is outside 1 to 1000"]],
		);
	});

	test("a misspelt JSON key or an unknown enum name is refused by name, not dropped", async () => {
		const scheduler = (method: string) => `${base}/taskmesh.scheduler.v1.SchedulerService/${method}`;
		const misspelt = await curl(rpc("UpdateQueue"), connectJson(dev.key, { queue: "typo", pausd: true }));
		assert.equal(misspelt.status, 400, misspelt.body);
		assert.equal(misspelt.json().code, "invalid_argument");
		assert.match(String(misspelt.json().message), /UpdateQueueRequest .*key "pausd" is unknown/);
		const unknownStatus = await curl(
			scheduler("ListRuns"),
			connectJson(dev.key, { statuses: ["RUN_STATUS_NOPE"] }),
		);
		assert.equal(unknownStatus.status, 400, unknownStatus.body);
		assert.match(String(unknownStatus.json().message), /RunStatus .*"RUN_STATUS_NOPE"/);
		// Nothing was changed by the refused call; a known name still filters.
		const queue = await curl(rpc("GetQueue"), connectJson(dev.key, { queue: "typo" }));
		assert.equal(queue.status, 404, queue.body);
		const known = await curl(
			scheduler("ListRuns"),
			connectJson(dev.key, { statuses: ["RUN_STATUS_QUEUED"] }),
		);
		assert.equal(known.status, 200, known.body);
	});

	const badInputs: Array<{
		name: string;
		args: () => string[];
		url?: () => string;
		status: number;
		code?: string;
	}> = [
		{ name: "a missing key", args: () => connectJson(undefined, {}), status: 401, code: "unauthenticated" },
		{
			name: "a key that is not a key",
			args: () => connectJson("password123", {}),
			status: 401,
			code: "unauthenticated",
		},
		{
			name: "an unknown key",
			args: () => connectJson(`tmk_${"x".repeat(43)}`, {}),
			status: 401,
			code: "unauthenticated",
		},
		{
			name: "a header that is not Bearer",
			args: () => [
				"-H",
				"content-type: application/json",
				"-H",
				`authorization: Basic ${dev.key}`,
				"-d",
				"{}",
			],
			status: 401,
			code: "unauthenticated",
		},
		{
			name: "malformed JSON",
			args: () => [
				"-H",
				"content-type: application/json",
				"-H",
				`authorization: Bearer ${dev.key}`,
				"-d",
				"{bad",
			],
			status: 400,
			code: "invalid_argument",
		},
		{
			name: "an unknown method",
			args: () => connectJson(dev.key, {}),
			url: () => rpc("NoSuchMethod"),
			status: 404,
		},
		{
			name: "an internal method the gateway does not expose",
			args: () => connectJson(dev.key, { messages: [] }),
			url: () => rpc("Enqueue"),
			status: 404,
		},
		{
			name: "an oversized body",
			args: () => connectJson(dev.key, { pageToken: "x".repeat(READ_MAX_BYTES) }),
			status: 429,
			code: "resource_exhausted",
		},
		{
			name: "a wrong content type",
			args: () => ["-H", "content-type: text/plain", "-H", `authorization: Bearer ${dev.key}`, "-d", "{}"],
			status: 415,
		},
	];
	for (const bad of badInputs) {
		test(`${bad.name} gets HTTP ${bad.status}${bad.code === undefined ? "" : ` and code ${bad.code}`}`, async () => {
			const response = await curl(bad.url?.() ?? rpc("ListQueues"), bad.args());
			assert.equal(response.status, bad.status, response.body);
			if (bad.code !== undefined) {
				const body = response.json();
				assert.equal(body.code, bad.code);
				assert.equal(typeof body.message, "string");
			}
		});
	}

	test("the keys command creates a key that works, and a revoked key is refused", async () => {
		const { databaseUrl } = await testStores();
		const env = { DATABASE_URL: databaseUrl, GATEWAY_DATABASE_SCHEMA: platform.gatewaySchema };
		const cli = (...args: string[]) =>
			runToExit(process.execPath, ["--import", "tsx", keysCli, ...args], env);
		const created = await cli("create", "--project", platform.project, "--environment", "cli", "--json");
		assert.equal(created.code, 0, created.stderr);
		const { key, id, environmentId } = JSON.parse(created.stdout) as Record<string, string>;
		const ok = await curl(rpc("ListQueues"), connectJson(key, {}));
		assert.equal(ok.status, 200, ok.body);

		const listed = await cli("list", "--project", platform.project, "--environment", "cli", "--json");
		const records = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
		assert.deepEqual(
			records.map((r) => [r.id, r.environmentId, r.revokedAt, "key" in r]),
			[[id, environmentId, null, false]],
		);

		const revoked = await cli("revoke", id as string);
		assert.equal(revoked.code, 0, revoked.stderr);
		const refused = await curl(rpc("ListQueues"), connectJson(key, {}));
		assert.equal(refused.status, 401);
		assert.equal(refused.json().code, "unauthenticated");
		const bad = await cli("create", "--project", "Not A Slug", "--environment", "dev");
		assert.equal(bad.code, 65);
		assert.match(bad.stderr, /project "Not A Slug": expected/);
	});

	test("a key past its rate limit gets HTTP 429 with Retry-After and RetryInfo, also over gRPC", async () => {
		const limited = await platform.createKey("limited", { ratePerSecond: 1, rateBurst: 2 });
		const statuses = [];
		let last: Awaited<ReturnType<typeof curl>> | undefined;
		for (let i = 0; i < 3; i++) {
			last = await curl(rpc("ListQueues"), connectJson(limited.key, {}));
			statuses.push(last.status);
		}
		assert.deepEqual(statuses, [200, 200, 429]);
		assert.ok(last !== undefined);
		assert.ok(
			Number(last.headers.get("retry-after")) >= 1,
			`Retry-After: ${last.headers.get("retry-after")}`,
		);
		const body = last.json() as { code: string; details: Array<{ type: string }> };
		assert.equal(body.code, "resource_exhausted");
		assert.ok(body.details.some((d) => d.type === "google.rpc.RetryInfo"));

		const client = gatewayClient(QueueService, base, limited.key, "grpc");
		await assert.rejects(client.listQueues({}), (error: unknown) => {
			const e = ConnectError.from(error);
			assert.equal(e.code, Code.ResourceExhausted);
			const retry = e.findDetails(RetryInfoSchema)[0];
			assert.ok(retry?.retryDelay !== undefined);
			return true;
		});
		const other = await curl(rpc("ListQueues"), connectJson(dev.key, {}));
		assert.equal(other.status, 200, "another key keeps its own bucket");
	});

	test("each request of a TriggerStream after the first takes a token of the key's rate limit", async () => {
		const limited = await platform.createKey("stream-limited", { ratePerSecond: 1, rateBurst: 6 });
		const scheduler = gatewayClient(SchedulerService, base, limited.key);
		await scheduler.createDeployment({ version: "v1", tasks: [{ id: "hello" }] });
		await scheduler.promoteDeployment({ version: "v1" });
		// Four tokens are left (a few more if seconds pass): the stream's call takes one,
		// then each request after the first one more, so 20 requests cannot all pass.
		const answers: string[] = [];
		let failure: ConnectError | undefined;
		try {
			for await (const answer of scheduler.triggerStream(
				(async function* () {
					for (let i = 0; i < 20; i++) yield { run: { taskId: "hello", payload: Buffer.from("{}") } };
				})(),
			)) {
				answers.push(answer.kind.case ?? "");
			}
		} catch (error) {
			failure = ConnectError.from(error);
		}
		assert.equal(failure?.code, Code.ResourceExhausted, `the stream ended with ${failure?.code}`);
		assert.match(failure?.rawMessage ?? "", /rate limit of 1 calls per second \(burst 6\)/);
		assert.ok(answers.every((a) => a === "triggered"));
		const direct = testClient(
			SchedulerService,
			`http://127.0.0.1:${platform.services.ports.get("scheduler")}`,
		);
		const { runs } = await direct.listRuns({ environmentId: limited.environmentId, pageSize: 100 });
		assert.ok(runs.length >= 1 && runs.length <= 8, `${runs.length} runs were made`);
	});

	test("a key revoked while its TriggerStream is open triggers nothing more; the stream ends UNAUTHENTICATED", async () => {
		const revocable = await platform.createKey("stream-revoked");
		const scheduler = gatewayClient(SchedulerService, base, revocable.key, "grpc");
		await scheduler.createDeployment({ version: "v1", tasks: [{ id: "hello" }] });
		await scheduler.promoteDeployment({ version: "v1" });
		let answered!: () => void;
		const firstAnswered = new Promise<void>((resolve) => {
			answered = resolve;
		});
		const answers: string[] = [];
		let failure: ConnectError | undefined;
		try {
			for await (const answer of scheduler.triggerStream(
				(async function* () {
					yield { run: { taskId: "hello", payload: Buffer.from("{}") } };
					await firstAnswered;
					await platform.gateway.keys.revoke(revocable.keyId);
					for (let i = 0; i < 3; i++) yield { run: { taskId: "hello", payload: Buffer.from("{}") } };
				})(),
			)) {
				answers.push(answer.kind.case ?? "");
				answered();
			}
		} catch (error) {
			failure = ConnectError.from(error);
		}
		assert.deepEqual(answers, ["triggered"]);
		assert.equal(failure?.code, Code.Unauthenticated, `the stream ended with ${failure?.code}`);
		const direct = testClient(
			SchedulerService,
			`http://127.0.0.1:${platform.services.ports.get("scheduler")}`,
		);
		const { runs } = await direct.listRuns({ environmentId: revocable.environmentId, pageSize: 100 });
		assert.equal(runs.length, 1, "only the trigger sent before the revocation made a run");
	});

	test("CORS answers a preflight from an allowed origin and says nothing to another", async () => {
		const preflight = (origin: string) =>
			curl(rpc("ListQueues"), [
				"-X",
				"OPTIONS",
				"-H",
				`origin: ${origin}`,
				"-H",
				"access-control-request-method: POST",
				"-H",
				"access-control-request-headers: authorization, content-type",
			]);
		const allowed = await preflight("https://app.example.com");
		assert.equal(allowed.status, 204);
		assert.equal(allowed.headers.get("access-control-allow-origin"), "https://app.example.com");
		assert.match(allowed.headers.get("access-control-allow-headers") ?? "", /Authorization/);
		assert.match(allowed.headers.get("access-control-allow-methods") ?? "", /POST/);
		const other = await preflight("https://evil.example.org");
		assert.equal(other.headers.has("access-control-allow-origin"), false);

		const call = await curl(rpc("ListQueues"), [
			...connectJson(dev.key, {}),
			"-H",
			"origin: https://app.example.com",
		]);
		assert.equal(call.status, 200);
		assert.equal(call.headers.get("access-control-allow-origin"), "https://app.example.com");
		assert.match(call.headers.get("access-control-expose-headers") ?? "", /Retry-After/);
	});

	test("GET /healthz reports every service SERVING", async () => {
		const response = await curl(`${base}/healthz`);
		assert.equal(response.status, 200);
		assert.deepEqual(response.json(), {
			status: "SERVING",
			services: {
				queue: "SERVING",
				scheduler: "SERVING",
				batch: "SERVING",
				"log-ingest": "SERVING",
				telemetry: "SERVING",
			},
		});
	});

	test("a client stream of log chunks goes through the gateway and is read back by a server stream", async () => {
		const logs = gatewayClient(LogIngestService, base, dev.key, "grpc");
		const body = Buffer.from("hello through the gateway");
		async function* frames() {
			yield {
				chunks: [
					{
						messageId: "m1",
						runId: "run_gateway_logs",
						sequence: 0,
						last: true,
						data: body,
						header: { level: LogLevel.INFO, bodySize: BigInt(body.length), chunkCount: 1 },
					},
				],
			};
		}
		const ingested = await logs.ingest(frames());
		assert.equal(ingested.messagesAccepted, 1n);
		for await (const frame of logs.tail({ runId: "run_gateway_logs" }, { timeoutMs: 10_000 })) {
			assert.deepEqual(
				frame.records.map((r) => [r.messageId, Buffer.from(r.body).toString()]),
				[["m1", "hello through the gateway"]],
			);
			break;
		}
	});

	test("the caller's deadline travels to the service and ends a stream that would wait longer", async () => {
		const scheduler = gatewayClient(SchedulerService, base, dev.key, "grpc");
		await scheduler.createDeployment({ version: "v1", tasks: [{ id: "slow" }] });
		await scheduler.promoteDeployment({ version: "v1" });
		const { run } = await scheduler.triggerRun({ taskId: "slow", payload: Buffer.from("{}") });
		const seen = [];
		await assert.rejects(
			(async () => {
				for await (const update of scheduler.waitForRun({ runId: run?.id ?? "" }, { timeoutMs: 500 })) {
					seen.push(update.run?.status);
				}
			})(),
			(error: unknown) => ConnectError.from(error).code === Code.DeadlineExceeded,
		);
		assert.ok(seen.length >= 1, "the run's state came first");
	});
});
