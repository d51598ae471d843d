/**
 * Reads groups from a source ahead of its consumer and hands the consumer, each
 * time it asks, everything read since it last asked, joined into one group of at
 * most maxItems. A consumer that spends a round trip per group (a transaction)
 * then takes as many groups per trip as arrived during the last one, instead of
 * falling further behind one small group at a time. Reading stops while maxItems
 * wait, so a slow consumer holds the source back rather than buffering without
 * bound. A source failure is thrown to the consumer once what was read before it
 * has been handed over. A consumer that stops early stops the reading at the next
 * group; a source waiting for its next group is the caller's to abort.
 */
export async function* coalesced<T>(source: AsyncIterable<T[]>, maxItems: number): AsyncGenerator<T[]> {
	const waiting: T[] = [];
	let ended = false;
	let stopped = false;
	let failure: { error: unknown } | undefined;
	let wakeConsumer: (() => void) | undefined;
	let wakeReader: (() => void) | undefined;
	const nudge = (wake: (() => void) | undefined) => wake?.();

	const reading = (async () => {
		try {
			for await (const group of source) {
				if (stopped) break;
				waiting.push(...group);
				nudge(wakeConsumer);
				while (waiting.length >= maxItems && !stopped) {
					await new Promise<void>((resolve) => {
						wakeReader = resolve;
					});
				}
			}
		} catch (error) {
			failure = { error };
		} finally {
			ended = true;
			nudge(wakeConsumer);
		}
	})();

	try {
		for (;;) {
			if (waiting.length > 0) {
				const group = waiting.splice(0, maxItems);
				nudge(wakeReader);
				yield group;
				continue;
			}
			if (ended) break;
			await new Promise<void>((resolve) => {
				wakeConsumer = resolve;
			});
		}
		await reading;
		if (failure !== undefined) throw failure.error;
	} finally {
		// The consumer stopped early: let a reader parked on a full buffer end.
		stopped = true;
		nudge(wakeReader);
	}
}
