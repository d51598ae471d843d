import type { WakeBus } from "./wake-bus.js";

const NOW = Promise.resolve();

/**
 * The waits of one consumer session, one at a time, made from the same parts
 * each time. A session waits once per delivery script that leaves it short (at
 * a steady rate, once per message), and a wait built fresh each time (an
 * AbortController, a promise and closures, a timer, listeners on two signals)
 * was a large share of the garbage per message. Here a wait is one promise: the
 * callback, the timer and the stream's abort listener are the session's own,
 * made once, and the timer is re-armed rather than replaced when its delay is
 * the same as the last.
 */
export class ConsumerWait {
	private readonly wake: WakeBus;
	private readonly environments: readonly string[];
	private readonly versions: number[];
	private readonly signal: AbortSignal;
	/** Ends the current wait; the one callback given to the bus, the timer and the signal. */
	private readonly end = () => this.finish();
	private readonly begin = (resolve: () => void) => {
		this.resolve = resolve;
	};
	private resolve: (() => void) | undefined;
	private listening = false;
	private timer: NodeJS.Timeout | undefined;
	private timerDelay = -1;

	constructor(wake: WakeBus, environments: readonly string[], signal: AbortSignal) {
		this.wake = wake;
		this.environments = environments;
		this.versions = environments.map(() => 0);
		this.signal = signal;
		signal.addEventListener("abort", this.end, { once: true });
	}

	/** Notes each environment's version, before a look at the queues. */
	snapshot(): void {
		for (let i = 0; i < this.environments.length; i++) {
			this.versions[i] = this.wake.version(this.environments[i] as string);
		}
	}

	/**
	 * Resolves when an environment changes after the snapshot, after delayMs, at
	 * finish() or when the signal aborts, whichever is first.
	 */
	forChange(delayMs: number): Promise<void> {
		if (this.signal.aborted) return NOW;
		for (let i = 0; i < this.environments.length; i++) {
			if (this.wake.version(this.environments[i] as string) !== this.versions[i]) return NOW;
		}
		for (const environmentId of this.environments) this.wake.listen(environmentId, this.end);
		this.listening = true;
		this.arm(delayMs);
		return new Promise(this.begin);
	}

	/** Resolves at finish() or when the signal aborts (waiting for credits). */
	forFinish(): Promise<void> {
		if (this.signal.aborted) return NOW;
		return new Promise(this.begin);
	}

	/** Ends the current wait, if there is one. */
	finish(): void {
		const resolve = this.resolve;
		if (resolve === undefined) return;
		this.resolve = undefined;
		if (this.listening) {
			for (const environmentId of this.environments) this.wake.unlisten(environmentId, this.end);
			this.listening = false;
		}
		resolve();
	}

	/** Ends any wait and stops the timer (the session is over). */
	close(): void {
		this.finish();
		if (this.timer !== undefined) clearTimeout(this.timer);
		this.timer = undefined;
		this.signal.removeEventListener("abort", this.end);
	}

	/**
	 * A timer left running from an earlier wait needs no stopping: when it fires
	 * with no wait, finish() does nothing, and each wait re-arms it from now.
	 */
	private arm(delayMs: number): void {
		if (this.timer !== undefined && delayMs === this.timerDelay) {
			this.timer.refresh();
			return;
		}
		if (this.timer !== undefined) clearTimeout(this.timer);
		this.timer = setTimeout(this.end, delayMs);
		this.timerDelay = delayMs;
	}
}
