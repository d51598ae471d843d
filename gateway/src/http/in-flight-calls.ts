/**
 * Counts HTTP requests whose response is not yet closed, so shutdown can wait
 * until every answer has been handed to the operating system.
 */
export class InFlightCalls {
	private count = 0;
	private idle: Array<() => void> = [];

	begin(): void {
		this.count++;
	}

	end(): void {
		this.count--;
		if (this.count === 0) for (const resolve of this.idle.splice(0)) resolve();
	}

	/** Resolves true once no call is in progress, or false after timeoutMs. */
	waitIdle(timeoutMs: number): Promise<boolean> {
		if (this.count === 0) return Promise.resolve(true);
		return new Promise((resolve) => {
			const timer = setTimeout(() => resolve(false), timeoutMs);
			this.idle.push(() => {
				clearTimeout(timer);
				resolve(true);
			});
		});
	}
}
