import type { TriggerOptions } from "../../../../gen/taskmesh/scheduler/v1/scheduler_pb.js";

/** The transport form of one item, carried opaquely through the core to TriggerRuns. */
export interface ItemBody {
	taskId: string;
	payload: Uint8Array;
	payloadType: string;
	options: TriggerOptions | undefined;
}
