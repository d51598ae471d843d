import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { LogLevel } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { RunStatus } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { publicMethods } from "../core/public-surface.js";
import { type GatewayPlatform, startGatewayPlatform } from "../testing/gateway-platform.js";
import { gatewayClient } from "../testing/http-calls.js";
import {
	codeOf,
	drain,
	makeDeadLetter,
	once,
	requestNaming,
	type Tenant,
	tenantOf,
} from "../testing/tenants.js";

/** What environment B owns, made through the gateway with B's key. */
interface Owned {
	runId: string;
	scheduleId: string;
	batchId: string;
	queue: string;
	deadLetterId: string;
	logRunId: string;
	logMessageId: string;
	exporter: string;
	deployment: string;
}

describe("tenant isolation: environment A's key on environment B's objects", () => {
	let platform: GatewayPlatform;
	let a: Tenant;
	let b: Tenant;
	let owned: Owned;
	let deadLetterMade = false;
	const covered = new Set<string>();

	before(async () => {
		platform = await startGatewayPlatform();
		a = tenantOf(platform.gateway.url, await platform.createKey("dev"));
		b = tenantOf(platform.gateway.url, await platform.createKey("prod"));
		for (const [t, version] of [
			[a, "a-v1"],
			[b, "b-v1"],
		] as const) {
			await t.scheduler.createDeployment({ version, tasks: [{ id: "hello" }] });
			await t.scheduler.promoteDeployment({ version });
		}
		const run = (await b.scheduler.triggerRun({ taskId: "hello", payload: Buffer.from("{}") })).run;
		const schedule = (await b.scheduler.createSchedule({ taskId: "hello", cron: "0 3 * * *" })).schedule;
		const batch = (await b.batch.createBatch({ items: [{ taskId: "hello", payload: Buffer.from("{}") }] }))
			.batch;
		await a.scheduler.triggerRun({ taskId: "hello", payload: Buffer.from("{}") });

		// A dead letter in B. The consumer side of the queue is internal, so it is
		// made on the queue service directly; a queue that cannot deliver right now
		// leaves B without one, and the rows below still check A's side.
		await b.queue.updateQueue({ queue: "dlq", maxNacks: 1 });
		const queueUrl = `http://127.0.0.1:${platform.services.ports.get("queue")}`;
		await makeDeadLetter(queueUrl, b.key.environmentId, "dlq", "dead-1").catch(() => {});
		const dead = await b.queue.listDeadLetters({ queue: "dlq" });
		deadLetterMade = dead.deadLetters.some((d) => d.message?.id === "dead-1");

		const body = Buffer.from("secret of B");
		await b.logs.ingest(
			once({
				chunks: [
					{
						messageId: "m1",
						runId: run?.id ?? "",
						sequence: 0,
						last: true,
						data: body,
						header: { level: LogLevel.INFO, bodySize: BigInt(body.length), chunkCount: 1 },
					},
				],
			}),
		);
		await b.exporters.registerExporter({
			config: {
				name: "exp-b",
				enabled: false,
				kind: { case: "otlpHttp", value: { endpoint: "http://127.0.0.1:9" } },
			},
		});
		owned = {
			runId: run?.id ?? "",
			scheduleId: schedule?.id ?? "",
			batchId: batch?.id ?? "",
			queue: "dlq",
			deadLetterId: "dead-1",
			logRunId: run?.id ?? "",
			logMessageId: "m1",
			exporter: "exp-b",
			deployment: "b-v1",
		};
	});
	after(() => platform?.stop());

	/** A call that names B's object by id and must be NOT_FOUND, revealing nothing of B. */
	const refused = (method: string, call: () => Promise<unknown>) =>
		test(`${method} of B's object answers NOT_FOUND`, async () => {
			covered.add(method);
			let error: ConnectError | undefined;
			try {
				await call();
			} catch (e) {
				error = ConnectError.from(e);
			}
			assert.ok(error !== undefined, `${method} succeeded with A's key on B's object`);
			assert.equal(Code[error.code], "NotFound", error.message);
			assert.equal(
				error.message.includes(b.key.environmentId),
				false,
				"the error does not name B's environment",
			);
		});

	// Scheduler: runs, schedules, deployments.
	refused("GetRun", () => a.scheduler.getRun({ runId: owned.runId }));
	refused("GetRuns", () => a.scheduler.getRuns({ runIds: [owned.runId], outcomeOnly: true }));
	refused("CancelRun", () => a.scheduler.cancelRun({ runId: owned.runId, cancelChildren: true }));
	refused("ReplayRun", () => a.scheduler.replayRun({ runId: owned.runId }));
	refused("WaitForRun", () => drain(a.scheduler.waitForRun({ runId: owned.runId })));
	refused("GetSchedule", () => a.scheduler.getSchedule({ scheduleId: owned.scheduleId }));
	refused("UpdateSchedule", () =>
		a.scheduler.updateSchedule({ scheduleId: owned.scheduleId, cron: "0 4 * * *" }),
	);
	refused("DeleteSchedule", () => a.scheduler.deleteSchedule({ scheduleId: owned.scheduleId }));
	refused("ActivateSchedule", () => a.scheduler.activateSchedule({ scheduleId: owned.scheduleId }));
	refused("DeactivateSchedule", () => a.scheduler.deactivateSchedule({ scheduleId: owned.scheduleId }));
	refused("PromoteDeployment", () => a.scheduler.promoteDeployment({ version: owned.deployment }));
	// Batches.
	refused("GetBatch", () => a.batch.getBatch({ batchId: owned.batchId }));
	refused("ListBatchItems", () => a.batch.listBatchItems({ batchId: owned.batchId }));
	refused("WaitForBatch", () => drain(a.batch.waitForBatch({ batchId: owned.batchId })));
	refused("StreamBatchItems", () =>
		a.batch.streamBatchItems(once({ kind: { case: "header", value: { batchId: owned.batchId } } })),
	);
	// Queues: names are per environment, so B's name in A's key means A's (absent) queue.
	refused("GetQueue", () => a.queue.getQueue({ queue: owned.queue }));

	test("ListDeadLetters and Redrive of B's queue see A's empty queue of that name", async () => {
		covered.add("ListDeadLetters").add("Redrive");
		const listed = await a.queue.listDeadLetters({ queue: owned.queue });
		assert.deepEqual(listed.deadLetters, []);
		const redriven = await a.queue.redrive({ queue: owned.queue, messageIds: [owned.deadLetterId] });
		assert.equal(redriven.redriven, 0);
		if (deadLetterMade) {
			const still = await b.queue.listDeadLetters({ queue: owned.queue });
			assert.deepEqual(
				still.deadLetters.map((d) => d.message?.id),
				[owned.deadLetterId],
			);
		}
	});
	// Logs.
	refused("Tail", () => drain(a.logs.tail({ runId: owned.logRunId }, { timeoutMs: 5_000 })));
	refused("ReadMessageBody", () =>
		drain(a.logs.readMessageBody({ runId: owned.logRunId, messageId: owned.logMessageId })),
	);
	// Exporter registry.
	refused("GetExporter", () => a.exporters.getExporter({ name: owned.exporter }));
	refused("UpdateExporter", () =>
		a.exporters.updateExporter({
			name: owned.exporter,
			config: { name: owned.exporter, kind: { case: "otlpHttp", value: { endpoint: "http://127.0.0.1:9" } } },
		}),
	);
	refused("DeleteExporter", () => a.exporters.deleteExporter({ name: owned.exporter }));
	refused("TestExporter", () => a.exporters.testExporter({ name: owned.exporter }));

	test("TriggerRun and CreateBatch with B's run as parent are refused", async () => {
		covered.add("TriggerRun").add("CreateBatch");
		for (const wait of [false, true]) {
			const parent = { runId: owned.runId, wait };
			const trigger = await codeOf(
				a.scheduler.triggerRun({ taskId: "hello", payload: Buffer.from("{}"), parent }),
			);
			assert.equal(trigger, Code.NotFound, `TriggerRun (wait ${wait})`);
			const batch = await codeOf(a.batch.createBatch({ items: [{ taskId: "hello" }], parent }));
			assert.equal(batch, Code.NotFound, `CreateBatch (wait ${wait})`);
		}
		const runs = await b.scheduler.listRuns({});
		assert.ok(
			runs.runs.every((r) => r.parentRunId === ""),
			"no run was attached to B's run",
		);
	});

	test("lists with A's key hold only A's objects", async () => {
		for (const m of ["ListRuns", "ListSchedules", "ListDeployments", "GetCurrentDeployment", "ListQueues"]) {
			covered.add(m);
		}
		covered.add("ListExporters").add("Query");
		const runs = await a.scheduler.listRuns({});
		assert.ok(runs.runs.length >= 1, "A sees its own run");
		assert.ok(runs.runs.every((r) => r.environmentId === a.key.environmentId && r.id !== owned.runId));
		assert.deepEqual((await a.scheduler.listRuns({ batchId: owned.batchId })).runs, []);
		const schedules = await a.scheduler.listSchedules({});
		assert.ok(schedules.schedules.every((s) => s.id !== owned.scheduleId));
		const deployments = await a.scheduler.listDeployments({});
		assert.deepEqual(
			deployments.deployments.map((d) => d.version),
			["a-v1"],
		);
		assert.equal((await a.scheduler.getCurrentDeployment({})).deployment?.version, "a-v1");
		const queues = await a.queue.listQueues({});
		assert.ok(queues.queues.every((q) => q.environmentId === a.key.environmentId));
		assert.ok(queues.queues.every((q) => q.name !== owned.queue));
		const exporters = await a.exporters.listExporters({});
		assert.ok(exporters.exporters.every((e) => e.config?.name !== owned.exporter));
		const logs = await a.logs.query({ runId: owned.logRunId });
		assert.deepEqual(logs.records, []);
	});

	test("writes with A's key land in A and leave B's objects as they were", async () => {
		for (const m of [
			"UpdateQueue",
			"UpdateEnvironment",
			"Ingest",
			"Export",
			"RegisterExporter",
			"CreateSchedule",
		]) {
			covered.add(m);
		}
		covered.add("CreateDeployment").add("ListMachinePresets");
		const before = await b.queue.listQueues({});
		await a.queue.updateQueue({ queue: owned.queue, paused: true });
		await a.queue.updateEnvironment({ concurrencyLimit: 1 });
		await a.scheduler.createDeployment({ version: owned.deployment, tasks: [{ id: "other" }] });
		await a.scheduler.createSchedule({ taskId: "hello", cron: "0 5 * * *" });
		await a.exporters.registerExporter({
			config: { name: owned.exporter, kind: { case: "otlpHttp", value: { endpoint: "http://127.0.0.1:9" } } },
		});
		const body = Buffer.from("A's own");
		await a.logs.ingest(
			once({
				chunks: [
					{
						messageId: owned.logMessageId,
						runId: owned.logRunId,
						sequence: 0,
						last: true,
						data: body,
						header: { level: LogLevel.INFO, bodySize: BigInt(body.length), chunkCount: 1 },
					},
				],
			}),
		);
		const exported = await a.telemetry.export({});
		assert.equal(exported.acceptedSpans, 0n);
		const presets = await a.scheduler.listMachinePresets({});
		assert.ok(presets.presets.length > 0, "presets are the same for every environment");

		const after = await b.queue.listQueues({});
		assert.equal(after.environmentConcurrencyLimit, before.environmentConcurrencyLimit);
		assert.equal((await b.queue.getQueue({ queue: owned.queue })).queue?.paused, false);
		if (deadLetterMade) {
			assert.deepEqual(
				(await b.queue.listDeadLetters({ queue: owned.queue })).deadLetters.map((d) => d.message?.id),
				[owned.deadLetterId],
			);
		}
		assert.equal((await b.scheduler.getCurrentDeployment({})).deployment?.version, owned.deployment);
		assert.deepEqual(
			(await b.scheduler.getCurrentDeployment({})).deployment?.tasks.map((t) => t.id),
			["hello"],
		);
		const run = (await b.scheduler.getRun({ runId: owned.runId })).run;
		assert.notEqual(run?.status, RunStatus.CANCELED);
		const schedule = (await b.scheduler.getSchedule({ scheduleId: owned.scheduleId })).schedule;
		assert.deepEqual([schedule?.cron, schedule?.active], ["0 3 * * *", true]);
		assert.equal((await b.exporters.getExporter({ name: owned.exporter })).exporter?.revision, 1n);
		const chunks = await drain(
			b.logs.readMessageBody({ runId: owned.logRunId, messageId: owned.logMessageId }),
		);
		assert.equal(Buffer.concat(chunks.map((c) => c.data)).toString(), "secret of B");
		assert.equal(
			(await b.batch.getBatch({ batchId: owned.batchId })).batch?.environmentId,
			b.key.environmentId,
		);
	});

	test("TriggerStream with A's key triggers in A, and a parent (of B or anyone) is refused", async () => {
		covered.add("TriggerStream");
		const answers = await drain(
			a.scheduler.triggerStream(
				(async function* () {
					yield { run: { taskId: "hello", payload: Buffer.from("{}") } };
					yield { run: { taskId: "hello", payload: Buffer.from("{}"), parent: { runId: owned.runId } } };
				})(),
			),
		);
		assert.deepEqual(
			answers.map((r) => r.kind.case),
			["triggered", "error"],
		);
		const made = answers[0]?.kind.case === "triggered" ? answers[0].kind.value.run : undefined;
		assert.equal(made?.environmentId, a.key.environmentId);
		assert.equal((await a.scheduler.getRun({ runId: made?.id ?? "" })).run?.id, made?.id);
		assert.equal(await codeOf(() => b.scheduler.getRun({ runId: made?.id ?? "" })), Code.NotFound);
		const refusal = answers[1]?.kind.case === "error" ? answers[1].kind.value : undefined;
		assert.equal(refusal?.code, Code.InvalidArgument);
		assert.match(refusal?.message ?? "", /run\.parent/);
		// B's run gained no child.
		const children = await b.scheduler.listRuns({});
		assert.ok(children.runs.every((r) => r.parentRunId === ""));
	});

	test("a request naming B's environment is refused with PERMISSION_DENIED by every public method", async () => {
		const named = b.key.environmentId;
		const url = platform.gateway.url;
		for (const entry of publicMethods()) {
			if (entry.environmentPaths.length === 0) continue;
			const client = gatewayClient(entry.service, url, a.key.key) as Record<
				string,
				(input: unknown, options?: unknown) => unknown
			>;
			const call = client[entry.method.localName] as (input: unknown, options?: unknown) => unknown;
			const input = requestNaming(entry.method.input.typeName, named);
			let code: Code | "OK";
			if (entry.method.methodKind === "client_streaming") {
				code = await codeOf(() => call(once(input)) as Promise<unknown>);
			} else if (entry.method.methodKind === "server_streaming") {
				code = await codeOf(() => drain(call(input) as AsyncIterable<unknown>));
			} else if (entry.method.methodKind === "bidi_streaming") {
				code = await codeOf(() => drain(call(once(input)) as AsyncIterable<unknown>));
			} else {
				code = await codeOf(() => call(input) as Promise<unknown>);
			}
			assert.equal(code, Code.PermissionDenied, `${entry.method.name}: ${code === "OK" ? "OK" : Code[code]}`);
		}
	});

	test("the matrix calls every public method", () => {
		const all = publicMethods().map((m) => m.method.name);
		assert.deepEqual(
			all.filter((name) => !covered.has(name)),
			[],
		);
	});
});
