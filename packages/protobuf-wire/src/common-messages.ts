import { boolField, messageField, stringField } from "./fields.js";
import type { ProtoWriter } from "./proto-writer.js";

/** A task error as the services hold it: the fields of taskmesh.common.v1.TaskError. */
export interface TaskErrorFields {
	name: string;
	message: string;
	stackTrace: string;
	code: string;
	retryable: boolean;
}

/**
 * A taskmesh.common.v1.TaskError field, for the hand encoders of the scheduler's runs
 * and the batch service's items, which both carry one.
 */
export function taskErrorField(w: ProtoWriter, field: number, e: TaskErrorFields): void {
	messageField(w, field, () => {
		stringField(w, 1, e.name);
		stringField(w, 2, e.message);
		stringField(w, 3, e.stackTrace);
		stringField(w, 4, e.code);
		boolField(w, 5, e.retryable);
	});
}
