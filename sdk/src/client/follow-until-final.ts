import { Code, ConnectError } from "@connectrpc/connect";
import { backOff } from "exponential-backoff";
import { fromConnectError } from "./errors.js";

/** How long a follower keeps trying while no server answers: up to about a minute in all. */
export const RESUME_BACKOFF = {
	numOfAttempts: 30,
	startingDelay: 100,
	timeMultiple: 2,
	maxDelay: 2_000,
	jitter: "full",
} as const;

/** A stream that ended (cleanly or not) after the server had answered it: open it again now. */
const RESUME_AT_ONCE = Symbol("resume at once");

/**
 * Follows a status stream (WaitForRun, WaitForBatch) until an update is final.
 *
 * A server ends such a stream cleanly when it drains, and a stream can drop with
 * UNAVAILABLE; neither is the end of the thing followed, so the stream is opened
 * again (its first update is the current state, so nothing is missed). It is
 * reopened at once when the last stream had answered, else after a growing pause
 * (exponential-backoff) until RESUME_BACKOFF runs out. Any other error is thrown
 * as the SDK's typed error. Never returns a non-final update.
 */
export async function followUntilFinal<T>(
	open: () => AsyncIterable<T>,
	isFinal: (update: T) => boolean,
	what: string,
): Promise<T> {
	for (;;) {
		const outcome = await backOff(() => followOnce(open, isFinal, what), {
			...RESUME_BACKOFF,
			retry: (error: unknown) => isResumable(error),
		}).catch((error: unknown) => {
			throw fromConnectError(error);
		});
		if (outcome !== RESUME_AT_ONCE) return outcome;
	}
}

async function followOnce<T>(
	open: () => AsyncIterable<T>,
	isFinal: (update: T) => boolean,
	what: string,
): Promise<T | typeof RESUME_AT_ONCE> {
	let answered = false;
	try {
		for await (const update of open()) {
			if (isFinal(update)) return update;
			answered = true;
		}
	} catch (error) {
		if (answered && isResumable(error)) return RESUME_AT_ONCE;
		throw error;
	}
	if (answered) return RESUME_AT_ONCE;
	// A stream that ends with no update at all is not progress: wait before the next try.
	throw new ConnectError(`${what}: the stream ended before any update`, Code.Unavailable);
}

/** True for an error after which a follower opens its stream again (UNAVAILABLE). */
export function isResumable(error: unknown): boolean {
	return error instanceof ConnectError && error.code === Code.Unavailable;
}
