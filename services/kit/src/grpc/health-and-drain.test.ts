import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
	Health,
	type HealthCheckResponse,
	HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../../../gen/grpc/health/v1/health_pb.js";
import { SchedulerService } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { startTestServer, testClient } from "../testing/grpc.js";
import { registration } from "./implementation.js";
import type { GrpcServiceHost } from "./server.js";

const SCHEDULER = SchedulerService.typeName;

/** A server whose GetRun waits until the test releases it. */
async function serverWithHeldCall() {
	let release: () => void = () => {};
	let entered: () => void = () => {};
	const callEntered = new Promise<void>((resolve) => {
		entered = resolve;
	});
	const host = await startTestServer([
		registration(SchedulerService, {
			async getRun(request) {
				entered();
				await new Promise<void>((resolve) => {
					release = resolve;
				});
				return { run: { id: request.runId } };
			},
		}),
	]);
	return { host, callEntered, release: () => release() };
}

/** Reads a Watch stream into an array as it arrives. */
function watch(host: GrpcServiceHost, service: string) {
	const seen: ServingStatus[] = [];
	const waiters: Array<() => void> = [];
	const stream = testClient(Health, host.url).watch({ service });
	const done = (async () => {
		try {
			for await (const response of stream as AsyncIterable<HealthCheckResponse>) {
				seen.push(response.status);
				for (const wake of waiters.splice(0)) wake();
			}
		} catch {
			// The server closes Watch streams when it stops.
		}
	})();
	const until = async (count: number) => {
		while (seen.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
	};
	return { seen, until, done };
}

describe("health", () => {
	const hosts: GrpcServiceHost[] = [];
	after(() => {
		for (const host of hosts) host.forceStop();
	});

	test("Check answers SERVING overall and per service, and NOT_FOUND for an unknown service", async () => {
		const host = await startTestServer([registration(SchedulerService, {})]);
		hosts.push(host);
		const health = testClient(Health, host.url);
		assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
		assert.equal((await health.check({ service: SCHEDULER })).status, ServingStatus.SERVING);
		await assert.rejects(
			health.check({ service: "taskmesh.nothing.v1.NoService" }),
			(e: unknown) => ConnectError.from(e).code === Code.NotFound,
		);
	});

	test("Watch reports a change of status as it happens", async () => {
		const host = await startTestServer([registration(SchedulerService, {})]);
		hosts.push(host);
		const watcher = watch(host, SCHEDULER);
		await watcher.until(1);
		host.health.set(SCHEDULER, "NOT_SERVING");
		await watcher.until(2);
		host.health.set(SCHEDULER, "SERVING");
		await watcher.until(3);
		assert.deepEqual(watcher.seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING, ServingStatus.SERVING]);
	});
});

describe("graceful drain", () => {
	test("a drain turns health NOT_SERVING, refuses new calls and lets the call in flight finish", async () => {
		const { host, callEntered, release } = await serverWithHeldCall();
		const client = testClient(SchedulerService, host.url);
		const health = testClient(Health, host.url);
		const watcher = watch(host, "");
		await watcher.until(1);

		const inFlight = client.getRun({ environmentId: "env", runId: "run_in_flight" });
		await callEntered;
		assert.equal(host.callsInFlight, 1);

		const drained = host.drain();
		await watcher.until(2);
		assert.deepEqual(watcher.seen, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
		assert.equal((await health.check({ service: SCHEDULER })).status, ServingStatus.NOT_SERVING);
		await assert.rejects(
			client.getRun({ environmentId: "env", runId: "run_late" }),
			(e: unknown) => ConnectError.from(e).code === Code.Unavailable,
		);

		release();
		const response = await inFlight;
		assert.equal(response.run?.id, "run_in_flight");
		await drained;
		await watcher.done;
		assert.equal(host.callsInFlight, 0);
	});

	test("a drain stops calls that outlive the drain timeout with UNAVAILABLE", async () => {
		let entered: () => void = () => {};
		const callEntered = new Promise<void>((resolve) => {
			entered = resolve;
		});
		const host = await startTestServer(
			[
				registration(SchedulerService, {
					async getRun(_request, context) {
						entered();
						await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve()));
						return {};
					},
				}),
			],
			{ drainTimeoutMs: 200 },
		);
		const outcome = testClient(SchedulerService, host.url)
			.getRun({ runId: "stuck" })
			.then(
				() => "answered",
				(e: unknown) => ConnectError.from(e),
			);
		await callEntered;
		await host.drain();
		const error = await outcome;
		assert.ok(error instanceof ConnectError);
		assert.equal(error.code, Code.Unavailable);
		assert.match(error.rawMessage, /the server stopped before the call finished/);
	});
});
