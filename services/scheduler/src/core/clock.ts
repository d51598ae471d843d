/** The scheduler's source of time; tests inject a ManualClock to control retries, TTLs and ticks. */
export interface Clock {
	now(): number;
}

/** Wall-clock time. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
	constructor(private current: number) {}
	now(): number {
		return this.current;
	}
	/** Moves the clock forward by ms. */
	advance(ms: number): void {
		this.current += ms;
	}
	/** Sets the clock to a time. */
	set(ms: number): void {
		this.current = ms;
	}
}
