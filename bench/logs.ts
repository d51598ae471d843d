/**
 * bench:logs — bytes per second persisted through LogIngestService.Ingest (real gRPC,
 * client streaming, the service in a process of its own) beside a raw server-side
 * COPY of the very rows Ingest wrote, into the same tables, in the same run; then the
 * service's peak resident memory while one 64 MiB message passes.
 *
 *   npx tsx bench/logs.ts            (SMALL=20000 LARGE=16 STREAMS=4 ROUNDS=11 to change the load;
 *                                     round 0 is a warm-up of both, shown but not in the medians;
 *                                     SERVICE_NODE_ARGS="--cpu-prof" to profile the service)
 *
 * Needs DATABASE_URL pointing at a PostgreSQL on this host as a superuser (server-side
 * COPY reads and writes files on the database host).
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { create } from "@bufbuild/protobuf";
import {
	type IngestRequest,
	IngestRequestSchema,
	type LogChunk,
	LogIngestService,
	LogLevel,
} from "../gen/taskmesh/logs/v1/logs_pb.js";
import {
	chunkLogMessage,
	encodeLogChunkDelimited,
	ingestRequestOf,
} from "../packages/log-chunking/src/index.js";
import { testClient } from "../services/kit/src/testing/grpc.js";
import { createTestSchema, testStores } from "../services/kit/src/testing/stores.js";
import { spawnService } from "../services/log-ingest/src/testing/child-service.js";

const MiB = 1024 * 1024;
const SMALL = Number(process.env.SMALL ?? 20_000);
const LARGE = Number(process.env.LARGE ?? 16);
const STREAMS = Number(process.env.STREAMS ?? 4);
// Ten measured rounds: with three, a run's median swung by ±0.05 around the same mean
// (0.48–0.56 in ten runs of one hour); with ten, 0.51–0.54 in six.
const ROUNDS = Number(process.env.ROUNDS ?? 11);
const FRAME_BYTES = 1 * MiB;

function median(values: number[]): number {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)] as number;
}

/** A log line like a task writes: JSON with some variety, about 1 KiB. */
function logLine(i: number): Buffer {
	const fields = Array.from({ length: 12 }, (_, k) => `"field_${k}":"${randomBytes(24).toString("base64")}"`);
	return Buffer.from(`{"i":${i},"msg":"step ${i % 97} finished","user":${i % 1000},${fields.join(",")}}`);
}

/** A large document: repetitive JSON with random ids, 2 MiB. */
function document(i: number): Buffer {
	const parts: string[] = [];
	let size = 0;
	for (let k = 0; size < 2 * MiB; k++) {
		const part = `{"doc":${i},"row":${k},"id":"${randomBytes(12).toString("hex")}","text":"token usage and trace output ${k % 50}"},`;
		parts.push(part);
		size += part.length;
	}
	return Buffer.from(parts.join("")).subarray(0, 2 * MiB);
}

/**
 * Chunks of every message, compressed up front so the timing covers transport and
 * storage only. Each stream carries its own runs, as each worker sends its own run's logs.
 */
function prepare(): { streams: LogChunk[][][]; bytes: number } {
	const streams = Array.from({ length: STREAMS }, () => ({
		frames: [] as LogChunk[][],
		frame: [] as LogChunk[],
		size: 0,
	}));
	let bytes = 0;
	const push = (run: number, messageId: string, body: Buffer) => {
		const stream = streams[run % STREAMS] as (typeof streams)[number];
		bytes += body.byteLength;
		for (const chunk of chunkLogMessage({
			messageId,
			runId: `run_${run}`,
			environmentId: "env_bench",
			header: { level: LogLevel.INFO, attributes: { source: "bench" } },
			body,
		})) {
			stream.frame.push(chunk);
			stream.size += chunk.data.byteLength;
			if (stream.size >= FRAME_BYTES) {
				stream.frames.push(stream.frame);
				stream.frame = [];
				stream.size = 0;
			}
		}
	};
	for (let i = 0; i < SMALL; i++) push(i % 48, `s${i}`, logLine(i));
	for (let i = 0; i < LARGE; i++) push(i % 48, `l${i}`, document(i));
	for (const stream of streams) if (stream.frame.length > 0) stream.frames.push(stream.frame);
	return { streams: streams.map((s) => s.frames), bytes };
}

/** CPU seconds a process has used so far, all its threads (utime + stime from /proc). */
function cpuSecondsOf(pid: number): number {
	try {
		const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
		return (Number(fields[11]) + Number(fields[12])) / 100;
	} catch {
		return 0; // the process is gone; its time is lost, which only lowers the figure
	}
}

/** Summed CPU seconds of a set of processes, read before and after a phase. */
function cpuOf(pids: number[]): () => number {
	const start = new Map(pids.map((pid) => [pid, cpuSecondsOf(pid)]));
	return () => pids.reduce((sum, pid) => sum + cpuSecondsOf(pid) - (start.get(pid) ?? 0), 0);
}

/** Frames encoded by protobuf-es's generic (reflection) encoder, for reference. */
async function* framesOf(frames: LogChunk[][]): AsyncGenerator<IngestRequest> {
	for (const chunks of frames) yield create(IngestRequestSchema, { chunks });
}

/** The same frames as the SDK sends them: the chunking package's encoder (same bytes). */
async function* encodedFramesOf(frames: LogChunk[][]): AsyncGenerator<IngestRequest> {
	for (const chunks of frames) yield ingestRequestOf(chunks.map(encodeLogChunkDelimited));
}

/** Which client encoding a timed Ingest uses. */
const SENDERS = { reflection: framesOf, encoder: encodedFramesOf } as const;

const { databaseUrl } = await testStores();
const schema = await createTestSchema("bench_logs");
// SERVICE_NODE_ARGS reaches the service through the kit (serviceNodeArgs).
const service = await spawnService({ DATABASE_URL: databaseUrl, LOG_INGEST_DATABASE_SCHEMA: schema.schema });
try {
	const client = testClient(LogIngestService, service.url);
	const { streams, bytes } = prepare();
	const frames = streams.reduce((n, s) => n + s.length, 0);
	console.log(
		`load: ${SMALL} messages of ~1 KiB and ${LARGE} of 2 MiB, ${(bytes / MiB).toFixed(1)} MiB in ${frames} frames over ${STREAMS} streams`,
	);
	// Figures of a shared machine mean little without what else ran: printed at the start and the end.
	const loadAverage = () =>
		loadavg()
			.map((x) => x.toFixed(2))
			.join(", ");
	console.log(`load average at the start: ${loadAverage()}`);

	// Rounds alternate Ingest and COPY into emptied tables; the medians damp the noise
	// of a shared machine, and each pair runs under the same load.
	// One connection of the bench's own does the truncating and the baseline, so its
	// backend is the baseline's and every other backend of the schema is the service's.
	const db = await schema.pool.connect();
	type Sender = keyof typeof SENDERS;
	const ingestSeconds: Record<Sender, number[]> = { reflection: [], encoder: [] };
	const copySeconds: number[] = [];
	// CPU seconds per round, by process: what each part costs whatever else the machine runs.
	const cpu = { service: 0, serviceDb: 0, client: 0, copyDb: 0, encoderClient: 0, encoderService: 0 };
	const benchBackend = Number((db as unknown as { processID: number }).processID);
	const serviceBackends = async () =>
		(
			await db.query<{ pid: number }>(
				"SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
				[`taskmesh-${schema.schema}`],
			)
		).rows.map((r) => r.pid);
	const files = {
		messages: `/tmp/${schema.schema}_messages.copy`,
		chunks: `/tmp/${schema.schema}_chunks.copy`,
	};
	const counting = (round: number) => round > 0 || ROUNDS === 1;
	/** One timed Ingest of the whole load into emptied tables; returns CPU seconds used. */
	const ingestOnce = async (sender: Sender) => {
		await db.query("TRUNCATE log_messages, log_chunks, log_runs");
		// Backends the pool opens during the round are missed; from the second round on it has them all.
		const serviceCpu = cpuOf([service.pid]);
		const dbCpu = cpuOf(await serviceBackends());
		const clientCpu = process.cpuUsage();
		const ingestStart = performance.now();
		const summaries = await Promise.all(streams.map((s) => client.ingest(SENDERS[sender](s))));
		ingestSeconds[sender].push((performance.now() - ingestStart) / 1000);
		const clientUsed = process.cpuUsage(clientCpu);
		const accepted = summaries.reduce((n, s) => n + Number(s.messagesAccepted), 0);
		if (accepted !== SMALL + LARGE)
			throw new Error(`only ${accepted} of ${SMALL + LARGE} messages were accepted`);
		return { service: serviceCpu(), db: dbCpu(), client: (clientUsed.user + clientUsed.system) / 1e6 };
	};
	for (let round = 0; round < ROUNDS; round++) {
		// Each round: Ingest as the SDK sends (the frame encoder), Ingest with the generic
		// encoder, then the baseline on the rows the latter wrote, so the three run under the same load.
		const encoded = await ingestOnce("encoder");
		const used = await ingestOnce("reflection");
		if (counting(round)) {
			cpu.service += used.service;
			cpu.serviceDb += used.db;
			cpu.client += used.client;
			cpu.encoderService += encoded.service;
			cpu.encoderClient += encoded.client;
		}

		// The baseline: the rows Ingest just wrote, loaded again by the server's own COPY,
		// in binary format: measured 25 % faster than text here (bytea goes as hex in text).
		await db.query(`COPY log_messages TO '${files.messages}' (FORMAT binary)`);
		await db.query(`COPY log_chunks TO '${files.chunks}' (FORMAT binary)`);
		await db.query("TRUNCATE log_messages, log_chunks");
		const copyCpu = cpuOf([benchBackend]);
		const copyStart = performance.now();
		await db.query(`COPY log_messages FROM '${files.messages}' (FORMAT binary)`);
		await db.query(`COPY log_chunks FROM '${files.chunks}' (FORMAT binary)`);
		copySeconds.push((performance.now() - copyStart) / 1000);
		if (counting(round)) cpu.copyDb += copyCpu();
		await db.query(`COPY (SELECT 1) TO PROGRAM 'rm -f ${files.messages} ${files.chunks}'`);
	}
	db.release();
	// Round 0 warms both up (a fresh service whose code V8 has not optimised yet; the
	// server's caches for the baseline): shown, but the medians are of the rounds after
	// it, as the CPU figures below are.
	const measured = (xs: number[]) => xs.filter((_, round) => counting(round));
	const ingestRate = bytes / median(measured(ingestSeconds.reflection));
	const encoderRate = bytes / median(measured(ingestSeconds.encoder));
	const copyRate = bytes / median(measured(copySeconds));
	const shown = (xs: number[]) =>
		measured(xs)
			.map((x) => x.toFixed(2))
			.join(", ");
	console.log(
		`warm-up round (not in the medians): ingest ${ingestSeconds.encoder[0]?.toFixed(2)} s (as the SDK sends), ${ingestSeconds.reflection[0]?.toFixed(2)} s (generic encoder); copy ${copySeconds[0]?.toFixed(2)} s`,
	);
	console.log(
		`ingest: ${(ingestRate / MiB).toFixed(1)} MiB/s of body (median of ${shown(ingestSeconds.reflection)} s), client encoding by protobuf-es's generic encoder`,
	);
	console.log(
		`ingest: ${(encoderRate / MiB).toFixed(1)} MiB/s of body (median of ${shown(ingestSeconds.encoder)} s), client encoding as the SDK sends (the chunking package's frame encoder)`,
	);
	console.log(`copy: ${(copyRate / MiB).toFixed(1)} MiB/s of body (median of ${shown(copySeconds)} s)`);
	const counted = Math.max(1, ROUNDS - 1);
	const perMiB = (seconds: number) => `${((seconds * 1000) / counted / (bytes / MiB)).toFixed(1)} ms`;
	console.log(
		`cpu per MiB of body: ingest = service ${perMiB(cpu.service)} + its postgres backends ${perMiB(cpu.serviceDb)} + bench client ${perMiB(cpu.client)} (as the SDK sends: service ${perMiB(cpu.encoderService)}, client ${perMiB(cpu.encoderClient)}); copy = postgres backend ${perMiB(cpu.copyDb)}`,
	);

	// Peak memory while one 64 MiB message passes (random, so nothing compresses).
	const big = randomBytes(64 * MiB);
	const bigFrames: LogChunk[][] = [];
	let current: LogChunk[] = [];
	for (const chunk of chunkLogMessage({
		messageId: "big",
		runId: "run_big",
		environmentId: "env_bench",
		header: { level: LogLevel.INFO },
		body: big,
	})) {
		current.push(chunk);
		if (current.length === 16) {
			bigFrames.push(current);
			current = [];
		}
	}
	if (current.length > 0) bigFrames.push(current);
	const before = service.memory().rss;
	service.resetPeak();
	await client.ingest(framesOf(bigFrames));
	const peak = service.memory().peak;
	console.log(
		`memory: service RSS ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB while a 64 MiB message passed (${peak >= before ? "+" : ""}${((peak - before) / MiB).toFixed(1)} MiB)`,
	);
	console.log(`load average at the end: ${loadAverage()}`);
	console.log(`ratio with protobuf-es's generic encoder: ${(ingestRate / copyRate).toFixed(2)}`);
	console.log(`ratio: ${(encoderRate / copyRate).toFixed(2)}`);
} finally {
	await service.stop();
	await schema.drop();
}
