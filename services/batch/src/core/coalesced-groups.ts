import { AsyncChannel } from "../../../kit/src/index.js";

/**
 * Reads groups from a source ahead of its consumer and hands the consumer, each
 * time it asks, everything read since it last asked, joined into one group of at
 * most maxItems. A consumer that spends a round trip per group (a transaction)
 * then takes as many groups per trip as arrived during the last one, instead of
 * falling further behind one small group at a time. Reading waits while maxItems
 * wait (the kit's bounded AsyncChannel; one source group may pass the mark), so a
 * slow consumer holds the source back
 * rather than buffering without bound. A source failure is thrown to the consumer
 * once what was read before it has been handed over. A consumer that stops early
 * stops the reading at the next group; a source waiting for its next group is the
 * caller's to abort.
 */
export async function* coalesced<T>(source: AsyncIterable<T[]>, maxItems: number): AsyncGenerator<T[]> {
	const channel = new AsyncChannel<T>(maxItems);
	const reading = (async () => {
		try {
			for await (const group of source) {
				if (channel.isClosed) break;
				// A group goes in at once: the consumer then takes it whole, not its first item alone.
				await channel.pushAll(group);
			}
			channel.close();
		} catch (error) {
			channel.fail(error);
		}
	})();
	try {
		yield* channel.drain(maxItems);
		await reading;
	} finally {
		// The consumer stopped early: a reader parked on a full channel ends.
		channel.close();
	}
}
