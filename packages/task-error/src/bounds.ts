/**
 * Most characters of each part of a task's error that a run keeps. An error is
 * read back with its run by every GetRun, ListRuns page and waiting parent; a
 * task that throws a multi-megabyte message (a whole document, a huge stack)
 * would otherwise make each of those answers that large, and a page of them
 * larger than a gRPC message may be. The scheduler cuts what it stores; the
 * SDK's worker cuts what it sends, so the report itself stays small.
 */
export const TASK_ERROR_BOUNDS = {
	name: 256,
	code: 256,
	message: 16 * 1024,
	stackTrace: 64 * 1024,
} as const;

/** The parts of a task's error that the bounds apply to. */
export interface TaskErrorText {
	name: string;
	code: string;
	message: string;
	stackTrace: string;
}

/** The error with each part cut to its bound, saying how much was cut; other fields as they are. */
export function boundedTaskError<E extends TaskErrorText>(error: E): E {
	return {
		...error,
		name: bounded(error.name, TASK_ERROR_BOUNDS.name),
		code: bounded(error.code, TASK_ERROR_BOUNDS.code),
		message: bounded(error.message, TASK_ERROR_BOUNDS.message),
		stackTrace: bounded(error.stackTrace, TASK_ERROR_BOUNDS.stackTrace),
	};
}

function bounded(text: string, max: number): string {
	if (text.length <= max) return text;
	let end = max;
	// Never leave half of a surrogate pair at the cut.
	const last = text.charCodeAt(end - 1);
	if (last >= 0xd800 && last <= 0xdbff) end -= 1;
	return `${text.slice(0, end)}… [${text.length - end} more characters cut]`;
}
