import { TaskRunError } from "../client/errors.js";
import type { AwaitedRun } from "./attempt-runtime.js";
import { deserialize } from "./payload.js";

/** The outcome of an awaited run: its output, or the error it ended with. */
export class TaskRunResult<O = unknown> {
	private constructor(
		/** The run id. */
		readonly id: string,
		/** True when the run completed. */
		readonly ok: boolean,
		/** The output, when ok. */
		readonly output: O | undefined,
		/** The error, when not ok. */
		readonly error: TaskRunError | undefined,
	) {}

	/** The output, or throws the run's error. */
	unwrap(): O {
		if (!this.ok) throw this.error as TaskRunError;
		return this.output as O;
	}

	/** A result from a run's wire outcome. */
	static of<O>(run: AwaitedRun): TaskRunResult<O> {
		if (run.ok)
			return new TaskRunResult<O>(run.runId, true, deserialize(run.output, run.outputType) as O, undefined);
		const error = run.error ?? {
			name: "Error",
			message: "the run did not complete",
			code: "",
			stackTrace: "",
		};
		return new TaskRunResult<O>(run.runId, false, undefined, new TaskRunError(run.runId, error));
	}
}
