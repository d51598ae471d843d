/** Where the core reads the time; tests and the service use the system clock. */
export interface Clock {
	now(): Date;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() };
