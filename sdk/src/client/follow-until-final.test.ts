import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
	type Batch,
	BatchService,
	BatchStatus,
	type WaitForBatchResponse,
} from "../../../gen/taskmesh/batch/v1/batch_pb.js";
import { RunStatus } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type GrpcServiceHost, registration, ServiceError } from "../../../services/kit/src/index.js";
import { startTestServer } from "../../../services/kit/src/testing/grpc.js";
import { waitForBatchRuns } from "../tasks/trigger.js";
import { NotFoundError, TaskmeshError } from "./errors.js";
import { oneServerClients } from "./testing/one-server-clients.js";

/**
 * What one WaitForBatch call does, in order: yield these statuses, then end
 * cleanly, or fail with UNAVAILABLE before yielding anything.
 */
type Script = { yields: BatchStatus[] } | { unavailable: true } | { notFound: true };

/**
 * A BatchService on a real gRPC server whose WaitForBatch follows a script per
 * call: the streams a client meets when replicas drain or restart.
 */
function scriptedBatchService(scripts: Script[], calls: { count: number }) {
	const batch = (status: BatchStatus): Partial<Batch> => ({
		id: "batch_1",
		status,
		expectedItemCount: 2,
		...(status === BatchStatus.FAILED ? { failureReason: "not sealed within 60s" } : {}),
	});
	return registration(BatchService, {
		async *waitForBatch() {
			const script = scripts[calls.count++];
			if (script === undefined) throw new Error("WaitForBatch called more often than scripted");
			if ("unavailable" in script) throw new ServiceError("UNAVAILABLE", "the server is draining");
			if ("notFound" in script) throw ServiceError.notFound("batch", "batch_1");
			for (const status of script.yields) yield { batch: batch(status) } as WaitForBatchResponse;
		},
		async listBatchItems() {
			return {
				items: [0, 1].map((index) => ({
					index,
					runId: `run_${index}`,
					status: RunStatus.COMPLETED,
					output: new TextEncoder().encode(JSON.stringify({ index })),
				})),
				nextPageToken: "",
			};
		},
	});
}

describe("following a batch until it is final", () => {
	const scripts: Script[] = [];
	const calls = { count: 0 };
	let server: GrpcServiceHost;
	const clients = () => oneServerClients(server.url, "env_follow");

	before(async () => {
		server = await startTestServer([scriptedBatchService(scripts, calls)]);
	});
	after(async () => {
		await server.drain();
	});
	const script = (...next: Script[]) => {
		scripts.length = 0;
		scripts.push(...next);
		calls.count = 0;
	};

	test("a stream that ends before the batch is final is followed again, never taken for completion", async () => {
		// A drain ends the stream cleanly; the next server is not up yet (UNAVAILABLE
		// twice), then one follows the batch to the end.
		script(
			{ yields: [BatchStatus.PROCESSING] },
			{ unavailable: true },
			{ unavailable: true },
			{ yields: [BatchStatus.PROCESSING, BatchStatus.COMPLETED] },
		);
		const runs = await waitForBatchRuns(clients(), "batch_1");
		assert.equal(calls.count, 4);
		assert.deepEqual(
			runs.map((r) => [r.runId, r.ok, new TextDecoder().decode(r.output)]),
			[
				["run_0", true, '{"index":0}'],
				["run_1", true, '{"index":1}'],
			],
		);
	});

	test("a batch that fails is a BATCH_FAILED error with its reason", async () => {
		script({ yields: [BatchStatus.PROCESSING] }, { yields: [BatchStatus.FAILED] });
		await assert.rejects(waitForBatchRuns(clients(), "batch_1"), (error: unknown) => {
			assert.ok(error instanceof TaskmeshError);
			assert.equal(error.code, "BATCH_FAILED");
			assert.match(error.message, /not sealed within 60s/);
			return true;
		});
		assert.equal(calls.count, 2);
	});

	test("an error that is not UNAVAILABLE is not retried", async () => {
		script({ notFound: true }, { yields: [BatchStatus.COMPLETED] });
		await assert.rejects(waitForBatchRuns(clients(), "batch_1"), (error: unknown) => {
			assert.ok(error instanceof NotFoundError);
			return true;
		});
		assert.equal(calls.count, 1);
	});
});
