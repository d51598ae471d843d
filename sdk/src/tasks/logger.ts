import { currentAttempt, type LogLevelName } from "./attempt-runtime.js";

/**
 * Logs of a task. Inside a run each message is shipped to the log service (large
 * messages whole, in chunks) and mirrored to the console in development; outside
 * a run it goes to the console only.
 */
export const logger = {
	/** Debugging detail. */
	debug: (message: string, attributes: Record<string, unknown> = {}) => emit("debug", message, attributes),
	/** Normal operation. */
	info: (message: string, attributes: Record<string, unknown> = {}) => emit("info", message, attributes),
	/** Something unexpected that did not fail. */
	warn: (message: string, attributes: Record<string, unknown> = {}) => emit("warn", message, attributes),
	/** A failure. */
	error: (message: string, attributes: Record<string, unknown> = {}) => emit("error", message, attributes),
};

function emit(level: LogLevelName, message: string, attributes: Record<string, unknown>): void {
	const text = typeof message === "string" ? message : String(message);
	const attempt = currentAttempt();
	if (attempt !== undefined) {
		attempt.log(level, text, attributes);
		return;
	}
	const line = Object.keys(attributes).length === 0 ? text : `${text} ${JSON.stringify(attributes)}`;
	console[level === "debug" ? "debug" : level](line);
}
