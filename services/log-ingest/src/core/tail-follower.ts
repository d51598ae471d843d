import type { LogReader } from "./log-reader.js";
import type { TailNotifier } from "./tail-notifier.js";
import type { StoredLogRecord } from "./types.js";

/** What a Tail follows. */
export interface TailTarget {
	environmentId: string;
	runId: string;
	levels: number[];
	maxBodyBytes: number;
}

/** Records per Tail frame; bounds each frame to this many times max_body_bytes. */
export const TAIL_PAGE = 100;

/**
 * Follows a run from a cursor: reads what is stored after it, then waits for a
 * notification (or the poll interval, a safety net for a lost one) and reads again.
 * It subscribes before the first read, and a wake that lands while a read is in
 * flight is remembered, so nothing committed between the catch-up and the live
 * part is missed; cursors only move forward, so nothing is sent twice.
 */
export async function* followRun(options: {
	reader: LogReader;
	notifier: TailNotifier;
	target: TailTarget;
	cursor: bigint;
	pollMs: number;
	signal: AbortSignal;
}): AsyncGenerator<StoredLogRecord[]> {
	const { reader, notifier, target, signal } = options;
	let cursor = options.cursor;
	let woken = false;
	let wakeUp: (() => void) | undefined;
	const wake = () => {
		woken = true;
		wakeUp?.();
	};
	const unsubscribe = notifier.subscribe(target.environmentId, target.runId, wake);
	signal.addEventListener("abort", wake);
	try {
		while (!signal.aborted) {
			woken = false;
			const records = await reader.readAfter(target, cursor, TAIL_PAGE);
			const last = records.at(-1);
			if (last !== undefined) {
				cursor = last.cursor;
				yield records;
				if (records.length === TAIL_PAGE) continue;
			}
			if (woken || signal.aborted) continue;
			await new Promise<void>((resolve) => {
				const timer = setTimeout(resolve, options.pollMs);
				wakeUp = () => {
					clearTimeout(timer);
					resolve();
				};
			});
			wakeUp = undefined;
		}
	} finally {
		unsubscribe();
		signal.removeEventListener("abort", wake);
	}
}
