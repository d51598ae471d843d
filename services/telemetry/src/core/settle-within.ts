/** Thrown by settleWithin when the work did not settle in time. */
export class TimedOut extends Error {
	override readonly name = "TimedOut";
}

/**
 * Waits for work at most ms. When time runs out the work is not cancelled (an
 * import or a user's factory cannot be), so a result that arrives later is handed
 * to lateResult to be released.
 */
export function settleWithin<T>(work: Promise<T>, ms: number, lateResult: (value: T) => void): Promise<T> {
	let timedOut = false;
	let timer: NodeJS.Timeout | undefined;
	const deadline = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			timedOut = true;
			reject(new TimedOut(`did not settle within ${ms} ms`));
		}, ms);
	});
	work.then(
		(value) => {
			if (timedOut) lateResult(value);
		},
		() => {},
	);
	return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
