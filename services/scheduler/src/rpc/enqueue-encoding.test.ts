import assert from "node:assert/strict";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { EnqueueStreamRequestSchema } from "../../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { RunMessage } from "../core/run-queue.js";
import { enqueueStreamRequestOf } from "./enqueue-encoding.js";

const base: RunMessage = {
	id: "run_01:1",
	environmentId: "env_a",
	queue: "task/parse",
	concurrencyKey: "",
	priority: 0,
	cpu: 0.5,
	memoryGb: 0.5,
	runId: "run_01",
	taskId: "parse",
	attempt: 1,
};

const cases: RunMessage[] = [
	base,
	{ ...base, concurrencyKey: "tenant-ü/7", priority: 5, attempt: 3 },
	{ ...base, priority: -2, cpu: 0, memoryGb: 0, attempt: 0 },
	{ ...base, id: "r".repeat(300), queue: "q".repeat(128), taskId: "タスク", cpu: 8, memoryGb: 16 },
];

/** The same request built through create() and protobuf-es's encoder (asking for duplicates only). */
function reflected(messages: RunMessage[]): Uint8Array {
	return toBinary(
		EnqueueStreamRequestSchema,
		create(EnqueueStreamRequestSchema, {
			messages: messages.map((m) => ({
				id: m.id,
				environmentId: m.environmentId,
				queue: m.queue,
				concurrencyKey: m.concurrencyKey,
				payload: new TextEncoder().encode(JSON.stringify({ runId: m.runId, attempt: m.attempt })),
				priority: m.priority,
				resources: { cpu: m.cpu, memoryGb: m.memoryGb },
				metadata: { runId: m.runId, taskId: m.taskId, attempt: m.attempt },
			})),
			duplicatesOnly: true,
		}),
	);
}

test("an EnqueueStreamRequest written by hand has the bytes protobuf-es writes", () => {
	for (const messages of [[cases[0] as RunMessage], cases, []]) {
		const bytes = toBinary(EnqueueStreamRequestSchema, enqueueStreamRequestOf(messages));
		assert.deepEqual(Buffer.from(bytes), Buffer.from(reflected(messages)));
	}
	const decoded = fromBinary(
		EnqueueStreamRequestSchema,
		toBinary(EnqueueStreamRequestSchema, enqueueStreamRequestOf(cases)),
	);
	assert.deepEqual(
		decoded.messages.map((m) => [
			m.id,
			m.priority,
			m.resources?.cpu,
			m.metadata?.attempt,
			new TextDecoder().decode(m.payload),
		]),
		cases.map((c) => [
			c.id,
			c.priority,
			c.cpu,
			c.attempt,
			JSON.stringify({ runId: c.runId, attempt: c.attempt }),
		]),
	);
});
