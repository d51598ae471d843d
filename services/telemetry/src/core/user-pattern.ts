import { setFlagsFromString } from "node:v8";
import safeRegex from "safe-regex2";
import { InvalidExporterConfig } from "./exporter-errors.js";
import { backtrackingPaths } from "./pattern-cost.js";

/** Longest regular expression accepted in a filter or redaction. */
export const MAX_PATTERN_LENGTH = 1_000;

/**
 * Most quantifiers one pattern may hold (safe-regex2's limit). With no quantifier
 * nested in another, backtracking stays polynomial; this keeps the degree small.
 */
export const MAX_PATTERN_QUANTIFIERS = 25;

/**
 * Longest text a pattern is run on. Patterns run synchronously on the event loop,
 * so even a polynomial pattern must only ever see bounded text: a filter tests
 * the first this many characters of a value, and redaction masks a longer string
 * whole (it cannot be checked, so it must not leave).
 */
export const MAX_MATCHED_TEXT_LENGTH = 16_384;

/**
 * Most backtracking paths (see backtrackingPaths) allowed to a pattern that V8's
 * linear-time engine cannot run: about twice what one unbounded quantifier needs on
 * MAX_MATCHED_TEXT_LENGTH characters. `[a-z]{20,}x` (2.7e8 paths) takes
 * ~0.2 s on 16,384 characters; `[a-z]{20,}[a-z]{20,}x` (4.4e12) took 17 s on 4,000.
 */
export const MAX_BACKTRACKING_PATHS = 2 ** 29;

let linearFallbackOn = false;

/**
 * Lets V8 finish a match that has backtracked 50,000 times on its linear-time
 * engine instead. safe-regex2 refuses exponential patterns (`(a+)+`) but not
 * polynomial ones: `.*.*.*x` took 26 s on 600 characters and would take days on
 * MAX_MATCHED_TEXT_LENGTH, all on the event loop. With the fallback the same match
 * takes ~15 ms. Matches that do not backtrack that much run as before, at full
 * speed, and results are the same either way. The flag is process-wide, so every
 * regular expression in the process gains the same bound. The fallback cannot
 * take patterns with lookaround, backreferences or repetition counts of 16 or
 * more (`{20,}`); those are held to MAX_BACKTRACKING_PATHS instead. The second
 * flag only lets a pattern be compiled for that engine alone (the `l` flag),
 * which is how a pattern is asked whether the fallback can take it.
 */
function boundBacktracking(): void {
	if (linearFallbackOn) return;
	setFlagsFromString("--enable-experimental-regexp-engine-on-excessive-backtracks");
	setFlagsFromString("--enable-experimental-regexp-engine");
	linearFallbackOn = true;
}

/** Whether V8's linear-time engine can run the pattern, and so finish a match that backtracks too long. */
function linearEngineRuns(pattern: string, flags: string): boolean {
	try {
		new RegExp(pattern, `${flags}l`);
		return true;
	} catch {
		return false;
	}
}

/**
 * Compiles a user's regular expression, naming the field when it is refused:
 * empty (it would match everywhere), too long, invalid, or able to backtrack
 * catastrophically (a quantified group holding a quantifier, such as `(a+)+`,
 * or more than MAX_PATTERN_QUANTIFIERS quantifiers), or, when the linear-time
 * engine cannot finish its matches, allowing more than MAX_BACKTRACKING_PATHS.
 */
export function compilePattern(pattern: string, field: string, flags = ""): RegExp {
	if (pattern === "") throw new InvalidExporterConfig(field, "must not be empty");
	if (pattern.length > MAX_PATTERN_LENGTH) {
		throw new InvalidExporterConfig(
			field,
			`${pattern.length} characters is over the limit of ${MAX_PATTERN_LENGTH}`,
		);
	}
	boundBacktracking();
	let regex: RegExp;
	try {
		regex = new RegExp(pattern, flags);
	} catch (error) {
		throw new InvalidExporterConfig(field, `invalid regular expression: ${(error as Error).message}`);
	}
	if (!safeRegex(pattern, { limit: MAX_PATTERN_QUANTIFIERS })) {
		throw new InvalidExporterConfig(
			field,
			`"${pattern}" may backtrack catastrophically: no quantifier may sit inside a quantified group (such as (a+)+), at most ${MAX_PATTERN_QUANTIFIERS} quantifiers are allowed, and lookbehind cannot be checked so it is refused`,
		);
	}
	if (!linearEngineRuns(pattern, flags)) {
		const paths = backtrackingPaths(pattern, MAX_MATCHED_TEXT_LENGTH);
		if (paths > MAX_BACKTRACKING_PATHS) {
			throw new InvalidExporterConfig(
				field,
				`"${pattern}" uses lookahead, a backreference or a repetition count of 16 or more, which the linear-time matching engine cannot run, and its quantifiers allow ${paths.toExponential(1)} backtracking paths on ${MAX_MATCHED_TEXT_LENGTH} characters, over the limit of ${MAX_BACKTRACKING_PATHS}: use fewer unbounded quantifiers, or counts of 15 or less (such as [a-z]{15}[a-z]+ for [a-z]{16,})`,
			);
		}
	}
	return regex;
}

/** The part of a text a pattern is run on (see MAX_MATCHED_TEXT_LENGTH). */
export function matchableText(text: string): string {
	return text.length > MAX_MATCHED_TEXT_LENGTH ? text.slice(0, MAX_MATCHED_TEXT_LENGTH) : text;
}
