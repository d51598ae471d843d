/**
 * Gathers the calls made during one turn of the event loop and runs them as one
 * batch (one SQL statement for all of them). Many workers' StartAttempt or
 * CompleteAttempt calls arriving together then cost one round trip, one
 * transaction and one commit instead of one each: on a small machine the system
 * calls and the WAL flush per statement, not the SQL, are what a call costs.
 *
 * A batch is all or nothing in PostgreSQL, so when a batch of several fails
 * (a deadlock between two batches, say), each call is run again on its own and
 * gets its own outcome; one call's failure never fails another's.
 */
export class TurnBatcher<I, O> {
	private pending: { input: I; resolve(output: O): void; reject(error: unknown): void }[] = [];
	private scheduled = false;
	private inFlight = 0;

	/**
	 * With maxInFlight, calls that arrive while that many batches run wait for one
	 * to end and then go together: under load the batches grow instead of
	 * multiplying (each statement costs a round trip and a commit), and a call
	 * that finds nothing running still goes at the end of its turn.
	 */
	constructor(
		private readonly run: (inputs: I[]) => Promise<O[]>,
		private readonly maxBatch: number,
		private readonly maxInFlight = Number.POSITIVE_INFINITY,
	) {}

	/** Resolves with this input's output once its batch ran. */
	call(input: I): Promise<O> {
		return new Promise<O>((resolve, reject) => {
			this.pending.push({ input, resolve, reject });
			if (this.scheduled) return;
			this.scheduled = true;
			setImmediate(() => this.flush());
		});
	}

	private flush(): void {
		this.scheduled = false;
		while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
			const batch = this.pending.splice(0, this.maxBatch);
			this.inFlight++;
			void this.runBatch(batch).finally(() => {
				this.inFlight--;
				if (this.pending.length > 0 && !this.scheduled) this.flush();
			});
		}
	}

	private async runBatch(batch: TurnBatcher<I, O>["pending"]): Promise<void> {
		try {
			const outputs = await this.run(batch.map((b) => b.input));
			if (outputs.length !== batch.length)
				throw new Error(`a batch of ${batch.length} returned ${outputs.length}`);
			for (const [i, b] of batch.entries()) b.resolve(outputs[i] as O);
		} catch (error) {
			if (batch.length === 1) {
				batch[0]?.reject(error);
				return;
			}
			await Promise.all(batch.map((b) => this.runBatch([b])));
		}
	}
}
