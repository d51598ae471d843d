import { TaskmeshError } from "../client/errors.js";
import { currentAttempt } from "./attempt-runtime.js";
import { type DurationInput, durationMs } from "./duration.js";

/**
 * Pauses the running task. The platform suspends the run (its concurrency slot is
 * freed) and resumes it when the time has come, on this worker or another.
 */
export const wait = {
	/** Waits this long: seconds, or a string such as "30s", "5m", "1h". */
	async for(duration: DurationInput): Promise<void> {
		const ms = durationMs("duration", duration);
		await running("wait.for").wait({ kind: "duration", ms });
	},
	/** Waits until this date. */
	async until(date: Date): Promise<void> {
		if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
			throw new TaskmeshError("date: wait.until takes a valid Date", { code: "INVALID_ARGUMENT" });
		}
		await running("wait.until").wait({ kind: "until", at: date.getTime() });
	},
};

function running(what: string) {
	const attempt = currentAttempt();
	if (attempt === undefined) {
		throw new TaskmeshError(`${what} can only be called inside a task's run function`, {
			code: "NOT_IN_TASK",
		});
	}
	return attempt;
}
