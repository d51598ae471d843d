/** Where the queue reads the time; tests pass one they can move forward. */
export interface Clock {
	/** Milliseconds since the Unix epoch. */
	now(): number;
}

/** The system clock. */
export const systemClock: Clock = { now: () => Date.now() };
