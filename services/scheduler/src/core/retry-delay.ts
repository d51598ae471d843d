/** How failed attempts are retried, after defaults were applied. */
export interface RetrySettings {
	maxAttempts: number;
	factor: number;
	minTimeoutMs: number;
	maxTimeoutMs: number;
	randomize: boolean;
}

/** The platform's retry policy when neither trigger nor task set one. */
export const DEFAULT_RETRY: RetrySettings = {
	maxAttempts: 3,
	factor: 2,
	minTimeoutMs: 1_000,
	maxTimeoutMs: 60_000,
	randomize: false,
};

/**
 * Delay before the attempt after `attempt` (1-based):
 * min(max, r × min × factor^(attempt−1)), r in [1, 2) when randomized, else 1.
 * CompleteAttempt applies the same rule in SQL (complete_attempt, migration 006),
 * with r drawn here by the caller; keep the two in step.
 */
export function retryDelayMs(
	settings: RetrySettings,
	attempt: number,
	random: () => number = Math.random,
): number {
	const r = settings.randomize ? 1 + random() : 1;
	const raw = r * settings.minTimeoutMs * settings.factor ** (attempt - 1);
	return Math.round(Math.min(settings.maxTimeoutMs, raw));
}
