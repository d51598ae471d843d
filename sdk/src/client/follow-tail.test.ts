import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LogIngestService, type LogRecord } from "../../../gen/taskmesh/logs/v1/logs_pb.js";
import { type GrpcServiceHost, registration, ServiceError } from "../../../services/kit/src/index.js";
import { startTestServer } from "../../../services/kit/src/testing/grpc.js";
import { NotFoundError } from "./errors.js";
import { followTail } from "./follow-tail.js";
import { oneServerClients } from "./testing/one-server-clients.js";

/** What one Tail call does: send these records (one frame each) then end, or wait, or fail. */
type Script = { records: string[]; afterwards: "end" | "wait" } | { fail: "unavailable" | "not-found" };

describe("following a run's logs across ended and dropped Tail streams", () => {
	const scripts: Script[] = [];
	const cursorsAsked: string[] = [];
	let server: GrpcServiceHost;
	const record = (id: string) => ({ messageId: id, runId: "run_1", cursor: `c-${id}` }) as Partial<LogRecord>;

	before(async () => {
		server = await startTestServer([
			registration(LogIngestService, {
				async *tail(request, context) {
					cursorsAsked.push(request.cursor);
					const script = scripts.shift();
					if (script === undefined) throw new Error("Tail called more often than scripted");
					if ("fail" in script) {
						throw script.fail === "unavailable"
							? new ServiceError("UNAVAILABLE", "the server is draining")
							: ServiceError.notFound("run", request.runId);
					}
					for (const id of script.records) yield { records: [record(id)] } as never;
					if (script.afterwards === "wait") {
						await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
					}
				},
			}),
		]);
	});
	after(async () => {
		await server.drain();
	});
	const clients = () => oneServerClients(server.url, "env_tail");

	test("each record arrives once, in order, the stream reopened from the last cursor", async () => {
		scripts.push(
			{ records: ["a", "b"], afterwards: "end" },
			{ fail: "unavailable" },
			{ records: [], afterwards: "end" },
			{ records: ["c"], afterwards: "wait" },
		);
		cursorsAsked.length = 0;
		const seen: string[] = [];
		const stop = new AbortController();
		await followTail(
			clients(),
			"run_1",
			(r) => {
				seen.push(r.messageId);
				if (seen.length === 3) stop.abort();
			},
			stop.signal,
		);
		assert.deepEqual(seen, ["a", "b", "c"]);
		assert.deepEqual(cursorsAsked, ["", "c-b", "c-b", "c-b"]);
	});

	test("until aborted, a run that has not logged yet (NOT_FOUND) is waited for", async () => {
		scripts.length = 0;
		scripts.push({ fail: "not-found" }, { fail: "not-found" }, { records: ["first"], afterwards: "wait" });
		const seen: string[] = [];
		const stop = new AbortController();
		await followTail(
			clients(),
			"run_1",
			(r) => {
				seen.push(r.messageId);
				stop.abort();
			},
			stop.signal,
			{ untilAborted: true },
		);
		assert.deepEqual(seen, ["first"]);
		assert.equal(scripts.length, 0);
	});

	test("an error other than UNAVAILABLE ends the follow with the SDK's typed error", async () => {
		scripts.length = 0;
		scripts.push({ fail: "not-found" });
		await assert.rejects(
			followTail(clients(), "run_1", () => {}, new AbortController().signal),
			(error: unknown) => error instanceof NotFoundError,
		);
	});
});
