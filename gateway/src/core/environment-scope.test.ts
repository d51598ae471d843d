import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StreamBatchItemsRequestSchema } from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { IngestRequestSchema } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { GetRunRequestSchema, SchedulerService } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { isServiceError } from "../../../services/kit/src/index.js";
import { environmentPaths, scopeToEnvironment } from "./environment-scope.js";
import { PUBLIC_SERVICES, publicMethods } from "./public-surface.js";

const names = (desc: Parameters<typeof environmentPaths>[0]) =>
	environmentPaths(desc).map((path) => path.map((f) => f.name).join("."));

describe("environment scope", () => {
	test("finds top-level, stream-header and repeated-chunk environment fields", () => {
		assert.deepEqual(names(GetRunRequestSchema), ["environment_id"]);
		assert.deepEqual(names(StreamBatchItemsRequestSchema), ["header.environment_id"]);
		assert.deepEqual(names(IngestRequestSchema), ["chunks.environment_id"]);
	});

	test("an empty environment is filled in with the key's", () => {
		const request = create(GetRunRequestSchema, { runId: "run_1" });
		scopeToEnvironment(request, environmentPaths(GetRunRequestSchema), "acme.dev");
		assert.equal(request.environmentId, "acme.dev");
	});

	test("every chunk of an ingest frame and a stream header get the key's environment", () => {
		const ingest = create(IngestRequestSchema, {
			chunks: [{ messageId: "m1" }, { messageId: "m2", environmentId: "acme.dev" }],
		});
		scopeToEnvironment(ingest, environmentPaths(IngestRequestSchema), "acme.dev");
		assert.deepEqual(
			ingest.chunks.map((c) => c.environmentId),
			["acme.dev", "acme.dev"],
		);
		const header = create(StreamBatchItemsRequestSchema, {
			kind: { case: "header", value: { batchId: "b" } },
		});
		scopeToEnvironment(header, environmentPaths(StreamBatchItemsRequestSchema), "acme.dev");
		assert.equal(header.kind.case === "header" && header.kind.value.environmentId, "acme.dev");
		const chunk = create(StreamBatchItemsRequestSchema, { kind: { case: "chunk", value: { items: [] } } });
		scopeToEnvironment(chunk, environmentPaths(StreamBatchItemsRequestSchema), "acme.dev");
		assert.equal(chunk.kind.case, "chunk");
	});

	test("a request naming another environment is refused with the field's path", () => {
		const ingest = create(IngestRequestSchema, {
			chunks: [{ messageId: "m1" }, { messageId: "m2", environmentId: "acme.prod" }],
		});
		assert.throws(
			() => scopeToEnvironment(ingest, environmentPaths(IngestRequestSchema), "acme.dev"),
			(error: unknown) =>
				isServiceError(error) &&
				error.code === "PERMISSION_DENIED" &&
				error.message.startsWith('chunks[1].environment_id: "acme.prod" is not the environment'),
		);
	});

	test("every public method names an environment unless it is marked global", () => {
		const methods = publicMethods();
		const unscoped = methods.filter((m) => m.environmentPaths.length === 0).map((m) => m.method.name);
		assert.deepEqual(unscoped, ["ListMachinePresets"]);
		assert.equal(
			methods.length,
			PUBLIC_SERVICES.reduce((n, s) => n + s.methods.length, 0),
		);
	});

	test("a listed method without an environment field stops start-up", () => {
		assert.throws(
			() =>
				publicMethods([{ service: SchedulerService, backend: "scheduler", methods: ["HeartbeatWorker"] }]),
			/SchedulerService\/HeartbeatWorker names no environment/,
		);
	});
});
