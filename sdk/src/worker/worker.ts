import { randomUUID } from "node:crypto";
import os from "node:os";
import { Code } from "@connectrpc/connect";
import type { Delivery } from "../../../gen/taskmesh/queue/v1/queue_pb.js";
import type { StartAttemptResponse } from "../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import { type Clients, createClients } from "../client/clients.js";
import { type ClientConfig, isGateway } from "../client/config.js";
import { ConfigurationError, call, fromConnectError } from "../client/errors.js";
import type { WaitOutcome, WaitRequest } from "../tasks/attempt-runtime.js";
import { fromProtoDuration, fromProtoTimestamp } from "../tasks/duration.js";
import { type ActiveAttempt, TASK_ERRORS } from "./active-attempt.js";
import { AttemptCalls } from "./attempt-calls.js";
import type { AttemptProcess, ChildExit } from "./attempt-process.js";
import { reportOutcome } from "./attempt-report.js";
import { ConsumerStream } from "./consumer-stream.js";
import { resolvedWaitOutcomes } from "./elided-waits.js";
import { type FromChild, type IndexedTask, type WireError, wireError } from "./ipc-protocol.js";
import { type AttemptLog, LogShipper } from "./log-shipper.js";
import { OutputLimit } from "./output-limit.js";
import { ProcessPool } from "./process-pool.js";
import { indexTasks, taskDefinition } from "./registration.js";
import { ResourceLedger, type Resources } from "./resource-ledger.js";
import { assignmentOf, waitOutcomeOf } from "./started-attempt.js";
import { beginPlatformWait } from "./wait-dispatch.js";
import { WorkerConsole } from "./worker-console.js";
import { childEnv, hostCapacity, memoryMiB } from "./worker-environment.js";
import { WorkerTelemetry } from "./worker-telemetry.js";

/** What a worker is started with. */
export interface WorkerOptions {
	/** The project's task files. */
	entries: string[];
	config: ClientConfig;
	workerId?: string;
	/** Total cpu and memory; the host's cores and memory by default. */
	capacity?: Resources;
	deploymentVersion?: string;
	/** Logs each run's lifecycle and mirrors task logs to the console. */
	development?: boolean;
	/** How long running attempts may finish after stop() before they are given back; 30 s by default. */
	gracePeriodMs?: number;
	/** Attempts run at once at most, whatever the resources allow; 32 by default. */
	maxConcurrentAttempts?: number;
	/**
	 * Deliveries taken ahead of a free slot, so the next attempt starts without waiting for the
	 * queue's push; as many as the slots, at most 4, by default; 0 takes one per free slot.
	 */
	prefetchDeliveries?: number;
	/** Warm child processes kept between attempts; maxConcurrentAttempts (at most 8) by default. */
	maxIdleProcesses?: number;
	/**
	 * How long a child holding a waiting attempt is kept for a resume on this worker;
	 * 10 minutes by default; 0 keeps none (every resume replays the task).
	 */
	suspendedKeepMs?: number;
	/**
	 * The services' gRPC message limit (GRPC_MAX_RECEIVE_MESSAGE_BYTES); 16 MiB by default.
	 * An output that could not fit one request fails its run with OUTPUT_TOO_LARGE unsent.
	 */
	maxMessageBytes?: number;
	/** How often telemetry is exported; 5 s by default. */
	telemetryPeriodMs?: number;
	/** Where lifecycle lines and task output go; stdout by default. */
	write?: (line: string) => void;
}

/**
 * The worker runtime: registers the project's tasks with its capacity, consumes
 * runs over the queue's Consume stream, runs each attempt in a child process
 * sized by the run's machine preset, and reports every outcome to the scheduler.
 */
export class Worker {
	readonly workerId: string;
	readonly clients: Clients;
	/** StartAttempt and CompleteAttempt, over one AttemptStream. */
	private readonly attempts: AttemptCalls;
	private readonly ledger: ResourceLedger;
	private readonly active = new Map<string, ActiveAttempt>();
	/** The scheduler's output limit, once a refusal has told it, and the message limit. */
	private readonly outputLimit: OutputLimit;
	private readonly pool: ProcessPool;
	private readonly shipper: LogShipper;
	private readonly telemetry: WorkerTelemetry;
	private readonly out: WorkerConsole;
	private stream: ConsumerStream | undefined;
	private heartbeat: NodeJS.Timeout | undefined;
	private stopping = false;
	private reportsInFlight = 0;
	/** Deliveries received ahead of a free slot, oldest first; they hold their resources meanwhile. */
	private prefetched: Delivery[] = [];
	/** Deliveries being started or run: each gives its credit back when its slot ends. */
	private slotsInUse = 0;
	private tasks: IndexedTask[] = [];

	private constructor(private readonly options: WorkerOptions) {
		this.outputLimit = new OutputLimit(options.maxMessageBytes);
		if (isGateway(options.config)) {
			// The gateway keeps the worker protocol (Consume, StartAttempt, ...) inside the platform's network.
			throw new ConfigurationError(
				"a worker talks to the services directly: set TASKMESH_QUEUE_URL, TASKMESH_SCHEDULER_URL, TASKMESH_BATCH_URL, TASKMESH_LOG_INGEST_URL, TASKMESH_TELEMETRY_URL and TASKMESH_ENVIRONMENT (the gateway does not expose the worker protocol); unset TASKMESH_URL",
			);
		}
		this.workerId = options.workerId ?? `worker-${os.hostname()}-${randomUUID().slice(0, 8)}`;
		this.clients = createClients(options.config);
		this.attempts = new AttemptCalls(this.clients.scheduler);
		this.ledger = new ResourceLedger(options.capacity ?? hostCapacity());
		this.out = new WorkerConsole(
			options.write ?? ((line) => process.stdout.write(`${line}\n`)),
			options.development === true,
		);
		this.pool = new ProcessPool({
			entries: options.entries,
			env: childEnv(options.config),
			maxIdle: options.maxIdleProcesses ?? Math.min(8, options.maxConcurrentAttempts ?? 8),
			output: (stream, text) => this.out.childOutput(stream, text),
		});
		this.shipper = new LogShipper({
			clients: this.clients,
			onError: (e) => this.out.warn("log stream failed", e),
		});
		this.telemetry = new WorkerTelemetry({
			clients: this.clients,
			workerId: this.workerId,
			onError: (e) => this.out.warn("telemetry export failed", e),
			...(options.telemetryPeriodMs === undefined ? {} : { periodMs: options.telemetryPeriodMs }),
		});
	}

	/** Loads the tasks, registers, creates declared schedules and starts consuming. */
	static async start(options: WorkerOptions): Promise<Worker> {
		const worker = new Worker(options);
		await worker.begin();
		return worker;
	}

	/** The tasks this worker registered. */
	get taskIds(): string[] {
		return this.tasks.map((t) => t.id);
	}

	private async begin(): Promise<void> {
		this.tasks = await indexTasks(this.options.entries, childEnv(this.options.config), (s, t) =>
			this.out.childOutput(s, t),
		);
		if (this.tasks.length === 0) {
			throw new Error(
				`no tasks: ${this.options.entries.join(", ")} export no task() (export each task you define)`,
			);
		}
		const interval = await this.register();
		for (const task of this.tasks.filter((t) => t.cron !== undefined)) {
			await call(
				this.clients.scheduler.createSchedule({
					environmentId: this.clients.environmentId,
					taskId: task.id,
					cron: task.cron?.pattern ?? "",
					timezone: task.cron?.timezone ?? "UTC",
					deduplicationKey: `declared:${task.id}`,
				}),
			);
		}
		this.telemetry.start();
		this.openStream();
		this.heartbeat = setInterval(() => void this.beat(), interval);
		const c = this.ledger.capacity;
		this.out.info(
			`worker ${this.workerId} ready: ${this.tasks.length} tasks (${this.taskIds.join(", ")}), ${c.cpu} vCPU, ${c.memoryGb} GB`,
		);
	}

	private async register(): Promise<number> {
		const response = await call(
			this.clients.scheduler.registerWorker({
				environmentId: this.clients.environmentId,
				workerId: this.workerId,
				deploymentVersion: this.options.deploymentVersion ?? "",
				tasks: this.tasks.map(taskDefinition),
				capacity: this.ledger.capacity,
			}),
		);
		return fromProtoDuration(response.heartbeatInterval) ?? 10_000;
	}

	private openStream(): void {
		const stream = new ConsumerStream({
			clients: this.clients,
			consumerId: this.workerId,
			events: {
				deliveries: (deliveries) => {
					for (const d of deliveries) this.onDelivery(d);
				},
				closed: (error) => {
					if (this.stream !== stream) return;
					if (error === undefined && !this.stopping) {
						// Ended cleanly by the queue (it is draining): what this stream held stays
						// this worker's. Carry it to a new stream at once and heartbeat it there.
						this.out.info("consume stream ended by the queue (draining); reopening with what it held");
						this.openStream();
						this.stream?.heartbeat(this.heldReceipts());
						return;
					}
					// Cut: the queue took back what this stream had not held: the prefetched deliveries.
					for (const d of this.prefetched.splice(0)) this.ledger.release(`delivery:${d.receipt}`);
					if (this.stopping) return;
					this.out.warn("consume stream ended; reopening", error);
					setTimeout(() => {
						if (!this.stopping && this.stream === stream) this.openStream();
					}, 1000).unref();
				},
			},
		});
		this.stream = stream;
		// Credits for what the worker can still take: running and prefetched deliveries hold theirs.
		stream.open(
			Math.max(0, this.slots() + this.prefetch() - this.slotsInUse - this.prefetched.length),
			this.ledger.free(),
		);
	}

	/** Receipts of the deliveries this worker holds: running attempts' and prefetched ones. */
	private heldReceipts(): string[] {
		const running = [...this.active.values()].filter((a) => a.state !== "suspended");
		return [
			...running.map((a) => a.receipt).filter((r) => r !== ""),
			...this.prefetched.map((d) => d.receipt),
		];
	}

	/** Attempts run at once at most. */
	private slots(): number {
		// Every slot the smallest preset (a quarter core) could fill; resources gate the rest.
		const bySlots = Math.floor(this.ledger.capacity.cpu / 0.25);
		return Math.max(1, Math.min(this.options.maxConcurrentAttempts ?? 32, bySlots));
	}

	private prefetch(): number {
		return Math.max(0, this.options.prefetchDeliveries ?? Math.min(4, this.slots()));
	}

	/** A slot ended (attempt done, suspended or refused): one more delivery may come. */
	private creditBack(): void {
		this.slotsInUse--;
		if (!this.stopping) this.stream?.credit(1, this.ledger.free());
		this.startPrefetched();
	}

	private onDelivery(delivery: Delivery): void {
		this.telemetry.count("deliveries");
		const message = delivery.message;
		if (this.stopping) {
			this.stream?.nack([delivery.receipt], `worker ${this.workerId} is shutting down`);
			return;
		}
		this.ledger.hold(`delivery:${delivery.receipt}`, {
			cpu: message?.resources?.cpu ?? 0,
			memoryGb: message?.resources?.memoryGb ?? 0,
		});
		this.prefetched.push(delivery);
		this.startPrefetched();
	}

	/** Starts waiting deliveries while slots are free, oldest first. */
	private startPrefetched(): void {
		while (!this.stopping && this.slotsInUse < this.slots() && this.prefetched.length > 0) {
			const delivery = this.prefetched.shift() as Delivery;
			this.slotsInUse++;
			void this.startDelivery(delivery);
		}
	}

	private async startDelivery(delivery: Delivery): Promise<void> {
		const message = delivery.message;
		const runId = message?.metadata?.runId ?? "";
		const key = `delivery:${delivery.receipt}`;
		const held = this.active.get(runId);
		if (held?.state === "suspending") await held.waitCall;
		// From here the scheduler settles this delivery: when the attempt ends, when it
		// refuses the start, or when this worker is found dead. So a cut of the Consume
		// stream must not give it back to be delivered again while the attempt runs
		// (which would free its concurrency slot); held before the start, no cut can
		// fall between the two.
		this.stream?.hold([delivery.receipt]);
		let started: StartAttemptResponse;
		try {
			started = await call(
				this.attempts.start({
					workerId: this.workerId,
					runId,
					queueReceipt: delivery.receipt,
					queueConsumerId: this.workerId,
				}),
			);
		} catch (error) {
			// The scheduler settled the refused delivery itself (nack or ack).
			this.telemetry.count("refused");
			this.out.lifecycle(
				runId,
				message?.metadata?.taskId ?? "",
				`not started: ${fromConnectError(error).message}`,
			);
			this.ledger.release(key);
			this.creditBack();
			if (
				fromConnectError(error).grpcCode === Code.FailedPrecondition &&
				/register again/.test(String(error))
			) {
				await this.register().catch(() => undefined);
			}
			return;
		}
		this.ledger.release(key);
		await this.beginAttempt(delivery.receipt, started, held);
	}

	private async beginAttempt(
		receipt: string,
		started: StartAttemptResponse,
		held: ActiveAttempt | undefined,
	): Promise<void> {
		const run = started.run;
		const attempt = started.attempt;
		if (run === undefined || attempt === undefined) {
			this.creditBack();
			return;
		}
		const machine = {
			name: run.machine?.name ?? "",
			cpu: run.machine?.cpu ?? 0,
			memoryGb: run.machine?.memoryGb ?? 0,
		};
		const maxDurationMs = fromProtoDuration(run.options?.maxDuration) ?? 0;
		const deadline = fromProtoTimestamp(started.deadline);
		if (
			held !== undefined &&
			held.state === "suspended" &&
			started.resumed &&
			held.attemptId === attempt.id &&
			held.proc !== undefined &&
			held.proc.exited === undefined
		) {
			// This worker still holds the suspended child: resume it in place.
			held.state = "running";
			held.receipt = receipt;
			this.holdSlot(held);
			this.arm(held, deadline);
			const last = started.resolvedWaits[started.resolvedWaits.length - 1];
			this.out.lifecycle(run.id, run.taskId, `resumed in place (attempt ${attempt.number})`);
			held.proc?.send({
				type: "resume",
				outcome:
					last === undefined
						? { runs: [], batchId: held.waitBatchId }
						: waitOutcomeOf(last, held.waitBatchId),
			});
			return;
		}
		if (held !== undefined) {
			this.active.delete(run.id);
			this.releaseSlot(held);
			held.detach();
			void held.proc?.kill();
		}
		const record: ActiveAttempt = {
			runId: run.id,
			attemptId: attempt.id,
			attemptNumber: attempt.number,
			taskId: run.taskId,
			machine,
			receipt,
			proc: undefined,
			startedMs: Date.now(),
			maxDurationMs,
			state: "running",
			suspendedAt: 0,
			slotHeld: false,
			finished: false,
			concurrent: false,
			suspendedByWait: false,
			waitBatchId: "",
			detach: () => undefined,
		};
		this.active.set(run.id, record);
		this.holdSlot(record);
		this.telemetry.count("attemptsStarted");
		const replay = started.resolvedWaits.length > 0;
		this.out.lifecycle(
			run.id,
			run.taskId,
			`${replay ? "replaying" : "started"} attempt ${attempt.number} on ${machine.name} (${machine.cpu} vCPU, ${machine.memoryGb} GB)`,
		);
		let resolvedWaits: WaitOutcome[];
		try {
			resolvedWaits = await resolvedWaitOutcomes(this.clients, started);
		} catch (error) {
			await this.finish(record, { error: TASK_ERRORS.waitsUnreadable(fromConnectError(error)) }, false);
			return;
		}
		if (record.finished) return;
		let proc: AttemptProcess;
		try {
			proc = await this.pool.acquire(memoryMiB(machine.memoryGb));
		} catch (error) {
			await this.finish(record, { error: wireError(error, false) }, false);
			return;
		}
		if (record.finished) {
			// Stopped (shutdown, or the scheduler said so) while the child was starting.
			void proc.kill();
			return;
		}
		record.proc = proc;
		this.attach(record, proc);
		this.arm(record, deadline);
		proc.send({ type: "run", assignment: assignmentOf(started, resolvedWaits) });
	}

	private attach(record: ActiveAttempt, proc: AttemptProcess): void {
		const onMessage = (m: FromChild) => {
			switch (m.type) {
				case "log":
					this.onLog({ runId: record.runId, attemptId: record.attemptId, taskId: record.taskId, ...m });
					break;
				case "wait":
					record.waitCall = this.onWait(record, m.request);
					break;
				case "concurrent-wait":
					record.concurrent = true;
					break;
				case "done":
					void this.finish(record, { output: m.output, outputType: m.outputType }, true);
					break;
				case "failed":
					void this.finish(record, { error: m.error }, !record.concurrent);
					break;
			}
		};
		const onExit = (exit: ChildExit) => {
			if (record.finished) return;
			if (record.state === "suspended") {
				// A waiting run is not this worker's any more; it is replayed wherever it resumes.
				this.active.delete(record.runId);
				return;
			}
			void this.finish(
				record,
				{ error: exit.outOfMemory ? TASK_ERRORS.oom(record) : TASK_ERRORS.crashed(exit) },
				false,
			);
		};
		proc.on("message", onMessage);
		proc.on("exit", onExit);
		record.detach = () => {
			proc.off("message", onMessage);
			proc.off("exit", onExit);
		};
	}

	private arm(record: ActiveAttempt, deadline: Date | undefined): void {
		clearTimeout(record.deadline);
		if (deadline === undefined) return;
		record.deadline = setTimeout(
			() => {
				if (record.finished || record.state !== "running") return;
				this.out.lifecycle(record.runId, record.taskId, "max duration passed; stopping the attempt");
				void record.proc?.kill();
				void this.finish(record, { error: TASK_ERRORS.timedOut(record) }, false);
			},
			Math.max(0, deadline.getTime() - Date.now()),
		);
	}

	private onLog(log: AttemptLog): void {
		this.shipper.ship(log);
		this.out.taskLog(log);
	}

	private async onWait(record: ActiveAttempt, request: WaitRequest): Promise<void> {
		record.state = "suspending";
		try {
			const { what, batchId } = await beginPlatformWait(this.clients, record, request);
			record.waitBatchId = batchId;
			record.suspendedByWait = true;
			this.telemetry.count("waits");
			if (record.finished || record.concurrent) return;
			record.state = "suspended";
			record.suspendedAt = Date.now();
			clearTimeout(record.deadline);
			this.releaseSlot(record);
			this.out.lifecycle(record.runId, record.taskId, `waiting for ${what}; concurrency released`);
			// Keeping no suspended children: the run is replayed wherever it resumes.
			if (this.options.suspendedKeepMs === 0) this.dropSuspended(record);
		} catch (error) {
			record.state = "running";
			const typed = fromConnectError(error);
			if (typed.code === "TASK_DID_CONCURRENT_WAIT") record.concurrent = true;
			record.proc?.send({ type: "wait-failed", error: wireError(typed, false) });
		}
	}

	private async finish(
		record: ActiveAttempt,
		result: { output: Uint8Array; outputType: string } | { error: WireError },
		reusable: boolean,
	): Promise<void> {
		if (record.finished) return;
		record.finished = true;
		clearTimeout(record.deadline);
		record.detach();
		await record.waitCall?.catch(() => undefined);
		const concurrent =
			record.concurrent || ("error" in result && result.error.code === "TASK_DID_CONCURRENT_WAIT");
		let outcome = "error" in result ? `failed: ${result.error.name}: ${result.error.message}` : "completed";
		const ranMs = Date.now() - record.startedMs;
		// The child is done with the attempt: its process and resources serve the next
		// delivery while the outcome is being reported, so a slot never idles on a round trip.
		if (this.active.get(record.runId) === record) this.active.delete(record.runId);
		if (reusable && !concurrent && record.proc !== undefined && record.proc.exited === undefined)
			this.pool.release(record.proc);
		else void record.proc?.kill();
		this.releaseSlot(record);
		const reportStart = Date.now();
		this.reportsInFlight++;
		try {
			outcome += await reportOutcome(
				this.clients,
				this.attempts,
				this.workerId,
				record,
				result,
				concurrent,
				this.outputLimit,
			);
		} finally {
			this.reportsInFlight--;
		}
		this.telemetry.count("error" in result ? "attemptsFailed" : "attemptsCompleted");
		this.telemetry.attempt({
			runId: record.runId,
			attemptId: record.attemptId,
			taskId: record.taskId,
			attemptNumber: record.attemptNumber,
			machine: record.machine.name,
			startMs: record.startedMs,
			endMs: Date.now(),
			outcome: "error" in result ? result.error.code || result.error.name : "COMPLETED",
			...("error" in result ? { error: result.error.message } : {}),
		});
		this.out.lifecycle(
			record.runId,
			record.taskId,
			`${outcome} after ${ranMs} ms (reported in ${Date.now() - reportStart} ms)`,
		);
	}

	private holdSlot(record: ActiveAttempt): void {
		this.ledger.hold(`attempt:${record.attemptId}`, record.machine);
		record.slotHeld = true;
	}

	private releaseSlot(record: ActiveAttempt): void {
		if (!record.slotHeld) return;
		record.slotHeld = false;
		this.ledger.release(`attempt:${record.attemptId}`);
		this.creditBack();
	}

	private async beat(): Promise<void> {
		const running = [...this.active.values()].filter((a) => a.state !== "suspended");
		this.stream?.heartbeat(this.heldReceipts());
		try {
			const response = await call(
				this.clients.scheduler.heartbeatWorker({
					workerId: this.workerId,
					attemptIds: running.map((a) => a.attemptId),
				}),
			);
			for (const id of response.stopAttemptIds) {
				const record = running.find((a) => a.attemptId === id);
				if (record === undefined || record.finished) continue;
				// The scheduler already decided the run (canceled or timed out): stop without reporting.
				record.finished = true;
				clearTimeout(record.deadline);
				record.detach();
				void record.proc?.kill();
				this.active.delete(record.runId);
				this.releaseSlot(record);
				this.out.lifecycle(
					record.runId,
					record.taskId,
					"stopped: the scheduler canceled or timed out the run",
				);
			}
		} catch (error) {
			const typed = fromConnectError(error);
			this.out.warn("heartbeat failed", typed);
			if (typed.grpcCode === Code.FailedPrecondition) await this.register().catch(() => undefined);
		}
		const keep = this.options.suspendedKeepMs ?? 600_000;
		for (const record of this.active.values()) {
			if (record.state === "suspended" && Date.now() - record.suspendedAt > keep) this.dropSuspended(record);
		}
	}

	/** Lets go of a suspended attempt's child; its run is replayed when it resumes. */
	private dropSuspended(record: ActiveAttempt): void {
		this.active.delete(record.runId);
		record.detach();
		void record.proc?.kill();
	}

	/**
	 * Stops taking work, lets running attempts finish within the grace period, then
	 * gives the rest back (failed as retryable, so another worker runs them) and closes.
	 */
	async stop(): Promise<void> {
		if (this.stopping) return;
		this.stopping = true;
		// Deliveries not started yet go back to the queue for other workers now.
		const unstarted = this.prefetched.splice(0);
		for (const d of unstarted) this.ledger.release(`delivery:${d.receipt}`);
		this.stream?.nack(
			unstarted.map((d) => d.receipt),
			`worker ${this.workerId} is shutting down`,
		);
		const grace = this.options.gracePeriodMs ?? 30_000;
		const running = () => [...this.active.values()].filter((a) => a.state !== "suspended" && !a.finished);
		this.out.info(
			`stopping: no new work; ${running().length} attempts running get ${grace / 1000} s to finish`,
		);
		const until = Date.now() + grace;
		while (running().length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
		await Promise.all(
			running().map(async (record) => {
				// finish() marks the record first, so the child's exit is not read as a crash.
				const done = this.finish(record, { error: TASK_ERRORS.shutdown() }, false);
				await record.proc?.kill();
				await done;
			}),
		);
		// Outcomes still being reported are part of the work; wait for them too.
		while (this.reportsInFlight > 0) await new Promise((r) => setTimeout(r, 20));
		// Every CompleteAttempt has been answered: nothing is left for the stream to carry.
		this.attempts.close();
		for (const record of this.active.values()) void record.proc?.kill();
		this.active.clear();
		clearInterval(this.heartbeat);
		await this.stream?.close();
		await this.pool.close();
		await this.shipper.close();
		await this.telemetry.close();
		this.out.info(`worker ${this.workerId} stopped`);
	}
}
