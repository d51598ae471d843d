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

/** What stands for U+0000, which PostgreSQL text and jsonb cannot hold: the replacement character. */
export const NUL_REPLACEMENT = "\uFFFD";

/**
 * The error as a run can keep it: each part cut to its bound, saying how much was cut,
 * and each U+0000 replaced by NUL_REPLACEMENT; other fields as they are. An error is
 * kept, never refused: a message holding a NUL (a buffer turned into text) made the
 * scheduler's CompleteAttempt fail with INTERNAL, and the run could never end.
 */
export function storableTaskError<E extends TaskErrorText>(error: E): E {
	return {
		...error,
		name: storable(error.name, TASK_ERROR_BOUNDS.name),
		code: storable(error.code, TASK_ERROR_BOUNDS.code),
		message: storable(error.message, TASK_ERROR_BOUNDS.message),
		stackTrace: storable(error.stackTrace, TASK_ERROR_BOUNDS.stackTrace),
	};
}

function storable(text: string, max: number): string {
	return bounded(text.includes("\u0000") ? text.replaceAll("\u0000", NUL_REPLACEMENT) : text, max);
}

function bounded(text: string, max: number): string {
	if (text.length <= max) return text;
	let end = max;
	// Never leave half of a surrogate pair at the cut.
	const last = text.charCodeAt(end - 1);
	if (last >= 0xd800 && last <= 0xdbff) end -= 1;
	return `${text.slice(0, end)}… [${text.length - end} more characters cut]`;
}
