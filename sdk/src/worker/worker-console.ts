import type { AttemptLog } from "./log-shipper.js";

// The console shows a long message's start; the log service keeps it whole.
const MIRROR_BYTES = 2000;

/** The worker's console: lifecycle lines and task logs in development, warnings always. */
export class WorkerConsole {
	constructor(
		private readonly write: (line: string) => void,
		private readonly development: boolean,
	) {}

	/** A line about the worker itself. */
	info(text: string): void {
		this.write(`${stamp()} worker  ${text}`);
	}

	/** Something that went wrong but did not stop the worker. */
	warn(text: string, error: unknown): void {
		const detail = error instanceof Error ? error.message : error === undefined ? "" : String(error);
		this.write(`${stamp()} worker  WARN ${text}${detail === "" ? "" : `: ${detail}`}`);
	}

	/** A step in a run's life (development only). */
	lifecycle(runId: string, taskId: string, text: string): void {
		if (this.development) this.write(`${stamp()} ${runId} ${taskId}  ${text}`);
	}

	/** A task's logger line, mirrored (development only). */
	taskLog(log: AttemptLog): void {
		if (!this.development) return;
		const attrs = Object.keys(log.attributes).length === 0 ? "" : ` ${JSON.stringify(log.attributes)}`;
		let text = log.message;
		if (text.length > MIRROR_BYTES)
			text = `${text.slice(0, MIRROR_BYTES)}… (${log.message.length} characters; whole in the log service)`;
		this.write(`${stamp()} ${log.runId} ${log.taskId}  ${log.level.toUpperCase()} ${text}${attrs}`);
	}

	/** What a task printed with console.* (development only). */
	childOutput(stream: "stdout" | "stderr", text: string): void {
		if (!this.development) return;
		for (const line of text.split("\n"))
			if (line.trim() !== "") this.write(`${stamp()} task ${stream}  ${line}`);
	}
}

function stamp(): string {
	return new Date().toISOString().slice(11, 23);
}
