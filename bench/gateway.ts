/**
 * bench:gateway — unary calls per second through the gateway beside the same call
 * made straight to the service over gRPC, in the same run, against the same
 * services (a child process). The call is SchedulerService.ListMachinePresets, which
 * the service answers from memory, so what differs is the gateway's own work:
 * parsing, key lookup, the Redis rate-limit script and the forward over gRPC.
 *
 *   npx tsx bench/gateway.ts      (SECONDS=5 ROUNDS=3 CONCURRENCY=50 to change the load)
 */
import type { Client } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { startGatewayPlatform } from "../gateway/src/testing/gateway-platform.js";
import { gatewayClient } from "../gateway/src/testing/http-calls.js";
import { SchedulerService } from "../gen/taskmesh/scheduler/v1/scheduler_pb.js";

const SECONDS = Number(process.env.SECONDS ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);

type Call = () => Promise<unknown>;

/** Calls completed per second by CONCURRENCY loops over SECONDS, and the p99 latency. */
async function measure(call: Call): Promise<{ rate: number; p99: number }> {
	const latencies: number[] = [];
	const until = performance.now() + SECONDS * 1000;
	let done = 0;
	const loop = async () => {
		while (performance.now() < until) {
			const started = performance.now();
			await call();
			latencies.push(performance.now() - started);
			done++;
		}
	};
	const started = performance.now();
	await Promise.all(Array.from({ length: CONCURRENCY }, loop));
	const elapsed = (performance.now() - started) / 1000;
	latencies.sort((x, y) => x - y);
	return { rate: done / elapsed, p99: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)] ?? 0;

const platform = await startGatewayPlatform({
	GATEWAY_RATE_LIMIT_PER_SECOND: "1000000",
	GATEWAY_RATE_LIMIT_BURST: "1000000",
	GATEWAY_KEY_CACHE_MS: "5000",
});
try {
	const key = await platform.createKey("bench");
	const direct: Client<typeof SchedulerService> = createClient(
		SchedulerService,
		createGrpcTransport({ baseUrl: `http://127.0.0.1:${platform.services.ports.get("scheduler")}` }),
	);
	const paths: Array<[string, Call]> = [
		["direct gRPC to the scheduler (baseline)", () => direct.listMachinePresets({})],
		...(["grpc", "connect-binary", "connect-json", "grpc-web"] as const).map((protocol): [string, Call] => {
			const client = gatewayClient(SchedulerService, platform.gateway.url, key.key, protocol);
			const name = `gateway, ${protocol}${protocol === "grpc" ? " (h2c)" : " (HTTP/1.1)"}`;
			return [name, () => client.listMachinePresets({})];
		}),
	];
	for (const [, call] of paths) await call(); // each path connects before it is timed
	const results = new Map<string, Array<{ rate: number; p99: number }>>();
	for (let round = 0; round < ROUNDS; round++) {
		// Paths take turns within each round, so drift on a shared machine hits them alike.
		for (const [name, call] of paths) {
			const list = results.get(name) ?? [];
			list.push(await measure(call));
			results.set(name, list);
		}
	}
	const baseline = median((results.get(paths[0]?.[0] ?? "") ?? []).map((r) => r.rate));
	console.log(
		`ListMachinePresets, ${CONCURRENCY} concurrent calls, ${SECONDS} s x ${ROUNDS} rounds (medians)`,
	);
	for (const [name] of paths) {
		const list = results.get(name) ?? [];
		const rate = median(list.map((r) => r.rate));
		const p99 = median(list.map((r) => r.p99));
		console.log(
			`${name.padEnd(48)} ${rate.toFixed(0).padStart(6)} calls/s  p99 ${p99.toFixed(1).padStart(6)} ms  ratio ${(rate / baseline).toFixed(2)}`,
		);
	}
} finally {
	await platform.stop();
}
