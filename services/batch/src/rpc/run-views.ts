import {
	create,
	createFileRegistry,
	type DescMessage,
	type DescService,
	fromBinary,
	type MessageInitShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { Transport } from "@connectrpc/connect";
import {
	type ItemFailure,
	ItemFailureSchema,
	type TaskError,
	TaskErrorSchema,
} from "../../../../gen/taskmesh/common/v1/common_pb.js";
import {
	type GetRunsRequestSchema,
	GetRunsResponseSchema,
	type Run,
	RunSchema,
	RunStatus,
	SchedulerService,
	type TriggerRunsRequest,
	TriggerRunsResponseSchema,
} from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";
import {
	enter,
	LENGTH_DELIMITED,
	leave,
	NOT_HANDLED,
	ProtoReader,
	tagOf,
	text,
	type UnknownField,
	VARINT,
} from "../../../../packages/protobuf-wire/src/index.js";
import { createServiceClient } from "../../../kit/src/index.js";

/**
 * The runs of TriggerRuns' and GetRuns' answers as the batch service reads them.
 * Decoded by protobuf-es, every summary or outcome first became a whole zero Run
 * of 27 fields, through reflection: about a tenth of the batch service's CPU per
 * item, and more of its garbage. Here the two methods' answers are read as an
 * empty message, which protobuf-es keeps as its unknown fields, one per run and
 * each a view of the answer's bytes, and each run's few fields are read by hand.
 * Field numbers come from the generated descriptors, so none is written twice;
 * a run outside the shape the scheduler sends is read by protobuf-es whole.
 */

/** The fields of a run the batch service reads. */
export interface RunView {
	id: string;
	status: RunStatus;
	cached: boolean;
	batchId: string;
	batchIndex: number;
	output: Uint8Array;
	outputType: string;
	error?: TaskError | undefined;
}

/** A message of no fields: protobuf-es keeps whatever it reads as unknown fields. */
const OPAQUE: DescMessage = (() => {
	const file = create(FileDescriptorProtoSchema, {
		name: "taskmesh/batch/internal/opaque.proto",
		package: "taskmesh.batch.internal",
		syntax: "proto3",
		messageType: [{ name: "Opaque" }],
	});
	const message = createFileRegistry(file, () => undefined).getMessage("taskmesh.batch.internal.Opaque");
	if (message === undefined) throw new Error("the opaque message descriptor was not built");
	return message;
})();

/**
 * SchedulerService's TriggerRuns and GetRuns with answers read as OPAQUE: a
 * service descriptor for a client of these two methods only.
 */
const schedulerRunViews: DescService = (() => {
	const triggerRuns = { ...SchedulerService.method.triggerRuns, output: OPAQUE };
	const getRuns = { ...SchedulerService.method.getRuns, output: OPAQUE };
	return {
		...SchedulerService,
		methods: [triggerRuns, getRuns],
		method: { triggerRuns, getRuns },
	} as unknown as DescService;
})();

/** An answer as a client of schedulerRunViews gets it. */
export interface OpaqueAnswer {
	$unknown?: UnknownField[];
}

/** TriggerRuns and GetRuns over schedulerRunViews: their answers' runs read by hand. */
export interface RunViewsClient {
	triggerRuns(request: TriggerRunsRequest): Promise<OpaqueAnswer>;
	getRuns(request: MessageInitShape<typeof GetRunsRequestSchema>): Promise<OpaqueAnswer>;
}

/** A RunViewsClient on a transport the service's other SchedulerService client shares. */
export function createRunViewsClient(transport: Transport): RunViewsClient {
	return createServiceClient(schedulerRunViews, transport) as unknown as RunViewsClient;
}

/** The output descriptor of a RunViewsClient method, for reading an answer's bytes as its client does. */
export function runViewsOutput(method: keyof RunViewsClient): DescMessage {
	return schedulerRunViews.method[method]?.output ?? OPAQUE;
}

const RUNS = TriggerRunsResponseSchema.field.runs.number;
const FAILURES = TriggerRunsResponseSchema.field.failures.number;
const GET_RUNS = GetRunsResponseSchema.field.runs.number;

/** TriggerRuns' answer: the runs it created, and the items it refused. */
export function triggerRunsAnswer(answer: OpaqueAnswer): { runs: RunView[]; failures: ItemFailure[] } {
	const runs: RunView[] = [];
	const failures: ItemFailure[] = [];
	for (const field of answer.$unknown ?? []) {
		if (field.no === RUNS) runs.push(runViewOf(field.data));
		else if (field.no === FAILURES) failures.push(fromBinary(ItemFailureSchema, inner(field.data)));
	}
	return { runs, failures };
}

/** GetRuns' answer: the runs, in the order asked. */
export function getRunsAnswer(answer: OpaqueAnswer): RunView[] {
	const runs: RunView[] = [];
	for (const field of answer.$unknown ?? []) if (field.no === GET_RUNS) runs.push(runViewOf(field.data));
	return runs;
}

const F = RunSchema.field;
const ID = tagOf(F.id, LENGTH_DELIMITED);
const STATUS = tagOf(F.status, VARINT);
const CACHED = tagOf(F.cached, VARINT);
const BATCH_ID = tagOf(F.batchId, LENGTH_DELIMITED);
const BATCH_INDEX = tagOf(F.batchIndex, VARINT);
const OUTPUT = tagOf(F.output, LENGTH_DELIMITED);
const OUTPUT_TYPE = tagOf(F.outputType, LENGTH_DELIMITED);
const ERROR = tagOf(F.error, LENGTH_DELIMITED);

/** One run from its unknown field's data (its length, then its bytes). */
export function runViewOf(data: Uint8Array): RunView {
	const r = new ProtoReader(data);
	try {
		const view: RunView = {
			id: "",
			status: RunStatus.UNSPECIFIED,
			cached: false,
			batchId: "",
			batchIndex: 0,
			output: EMPTY,
			outputType: "",
			error: undefined,
		};
		const outer = enter(r);
		while (r.more()) {
			switch (r.uint32()) {
				case ID:
					view.id = text(r);
					break;
				case STATUS:
					view.status = r.int32();
					break;
				case CACHED:
					view.cached = r.int64() !== 0n;
					break;
				case BATCH_ID:
					view.batchId = text(r);
					break;
				case BATCH_INDEX:
					view.batchIndex = r.uint32();
					break;
				case OUTPUT:
					view.output = r.bytes();
					break;
				case OUTPUT_TYPE:
					view.outputType = text(r);
					break;
				case ERROR:
					if (view.error !== undefined) throw NOT_HANDLED;
					view.error = fromBinary(TaskErrorSchema, r.bytes());
					break;
				default:
					throw NOT_HANDLED;
			}
		}
		leave(r, outer);
		return view;
	} catch {
		return viewOfRun(fromBinary(RunSchema, inner(data)));
	}
}

/** The view of a run protobuf-es has read. */
export function viewOfRun(run: Run): RunView {
	return {
		id: run.id,
		status: run.status,
		cached: run.cached,
		batchId: run.batchId,
		batchIndex: run.batchIndex,
		output: run.output,
		outputType: run.outputType,
		error: run.error,
	};
}

/** A length-delimited field's bytes without their length. */
function inner(data: Uint8Array): Uint8Array {
	const r = new ProtoReader(data);
	const end = r.delimited();
	return data.subarray(r.pos, end);
}

const EMPTY = new Uint8Array(0);
