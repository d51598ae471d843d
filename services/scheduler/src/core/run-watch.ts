/**
 * Wakes the streams that follow runs and waits (WaitForRun, WaitForResume) when
 * this replica changes them. Streams also poll, so changes made by another
 * replica reach them within the poll interval.
 */
export class RunWatch {
	private readonly listeners = new Map<string, Set<() => void>>();

	/** Calls wake when the run or wait with this id changes; returns the unsubscribe. */
	subscribe(id: string, wake: () => void): () => void {
		let set = this.listeners.get(id);
		if (set === undefined) {
			set = new Set();
			this.listeners.set(id, set);
		}
		set.add(wake);
		return () => {
			set.delete(wake);
			if (set.size === 0) this.listeners.delete(id);
		};
	}

	/** Wakes the followers of these runs and waits. */
	notify(runIds: string[], waitIds: string[] = []): void {
		for (const id of [...runIds, ...waitIds]) {
			for (const wake of this.listeners.get(id) ?? []) wake();
		}
	}
}

/**
 * Resolves after `ms`, when woken, or when the signal aborts, whichever is first.
 */
export function sleepOrWake(
	watch: RunWatch,
	id: string,
	ms: number,
	signal: AbortSignal | undefined,
): Promise<void> {
	return new Promise((resolve) => {
		const done = () => {
			clearTimeout(timer);
			unsubscribe();
			signal?.removeEventListener("abort", done);
			resolve();
		};
		const timer = setTimeout(done, ms);
		const unsubscribe = watch.subscribe(id, done);
		signal?.addEventListener("abort", done, { once: true });
	});
}
