import { randomBytes } from "node:crypto";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { SpanKind, type SpanSchema, StatusCode } from "../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import type { Clients } from "../client/clients.js";

/** One attempt as the worker reports it. */
export interface AttemptSpan {
	runId: string;
	attemptId: string;
	taskId: string;
	attemptNumber: number;
	machine: string;
	startMs: number;
	endMs: number;
	outcome: string;
	error?: string;
}

type Counter =
	| "deliveries"
	| "attemptsStarted"
	| "attemptsCompleted"
	| "attemptsFailed"
	| "waits"
	| "refused";

// A span per period of the consumer loop, never per message: the loop can take
// thousands of messages a second and a span each would cost more than the work.
const PERIOD_MS = 5000;
const ROTATE_AFTER = 10_000;

/**
 * The worker's telemetry: counters and one rotating span per period (or per
 * ROTATE_AFTER deliveries) for the consumer loop, plus one span per attempt,
 * exported to TelemetryService.Export in batches.
 */
export class WorkerTelemetry {
	private readonly counters: Record<Counter, number> = {
		deliveries: 0,
		attemptsStarted: 0,
		attemptsCompleted: 0,
		attemptsFailed: 0,
		waits: 0,
		refused: 0,
	};
	private readonly totals: Record<Counter, number> = { ...this.counters };
	private spans: MessageInitShape<typeof SpanSchema>[] = [];
	private periodStart = Date.now();
	private readonly started = Date.now();
	private timer: NodeJS.Timeout | undefined;
	private readonly traceId = randomBytes(16);

	constructor(
		private readonly options: {
			clients: Clients;
			workerId: string;
			onError?: (error: unknown) => void;
			periodMs?: number;
		},
	) {}

	/** Starts the periodic export. */
	start(): void {
		this.timer = setInterval(() => void this.export(), this.options.periodMs ?? PERIOD_MS);
		this.timer.unref();
	}

	/** Counts one event. */
	count(counter: Counter): void {
		this.counters[counter]++;
		this.totals[counter]++;
		if (counter === "deliveries" && this.counters.deliveries >= ROTATE_AFTER) void this.export();
	}

	/** Records an attempt's span. */
	attempt(span: AttemptSpan): void {
		this.spans.push({
			traceId: randomBytes(16),
			spanId: randomBytes(8),
			name: `attempt ${span.taskId}`,
			kind: SpanKind.CONSUMER,
			startTimeUnixNano: BigInt(span.startMs) * 1_000_000n,
			endTimeUnixNano: BigInt(span.endMs) * 1_000_000n,
			attributes: [
				str("taskmesh.run_id", span.runId),
				str("taskmesh.attempt_id", span.attemptId),
				str("taskmesh.task_id", span.taskId),
				str("taskmesh.machine", span.machine),
				str("taskmesh.outcome", span.outcome),
				{
					key: "taskmesh.attempt_number",
					value: { value: { case: "intValue", value: BigInt(span.attemptNumber) } },
				},
			],
			statusCode: span.error === undefined ? StatusCode.OK : StatusCode.ERROR,
			statusMessage: span.error ?? "",
		});
	}

	/** Exports what was gathered since the last export; a failure is reported and dropped. */
	async export(): Promise<void> {
		const now = Date.now();
		const period = { ...this.counters };
		for (const key of Object.keys(this.counters) as Counter[]) this.counters[key] = 0;
		const loop: MessageInitShape<typeof SpanSchema> = {
			traceId: this.traceId,
			spanId: randomBytes(8),
			name: "worker consume",
			kind: SpanKind.CONSUMER,
			startTimeUnixNano: BigInt(this.periodStart) * 1_000_000n,
			endTimeUnixNano: BigInt(now) * 1_000_000n,
			attributes: Object.entries(period).map(([k, v]) => ({
				key: `taskmesh.worker.${k}`,
				value: { value: { case: "intValue" as const, value: BigInt(v) } },
			})),
			statusCode: StatusCode.OK,
		};
		this.periodStart = now;
		const spans = [loop, ...this.spans];
		this.spans = [];
		const resource = {
			attributes: [str("service.name", "taskmesh-worker"), str("taskmesh.worker_id", this.options.workerId)],
		};
		try {
			await this.options.clients.telemetry.export({
				environmentId: this.options.clients.environmentId,
				resourceSpans: [{ resource, scopeSpans: [{ scope: { name: "taskmesh.worker" }, spans }] }],
				resourceMetrics: [
					{
						resource,
						scopeMetrics: [
							{
								scope: { name: "taskmesh.worker" },
								metrics: Object.entries(this.totals).map(([k, v]) => ({
									name: `taskmesh.worker.${k}`,
									data: {
										case: "sum" as const,
										value: {
											isMonotonic: true,
											isCumulative: true,
											dataPoints: [
												{
													startTimeUnixNano: BigInt(this.started) * 1_000_000n,
													timeUnixNano: BigInt(now) * 1_000_000n,
													value: { case: "asInt" as const, value: BigInt(v) },
												},
											],
										},
									},
								})),
							},
						],
					},
				],
			});
		} catch (error) {
			this.options.onError?.(error);
		}
	}

	/** Stops the timer and exports what is left. */
	async close(): Promise<void> {
		clearInterval(this.timer);
		await this.export();
	}
}

function str(key: string, value: string) {
	return { key, value: { value: { case: "stringValue" as const, value } } };
}
