import ret, { type Root, type Token, type Tokens } from "ret";

// ret's module.exports is its tokenizer function (with `types` on it); its type
// declarations describe an ES module whose default export is that function.
const tokenize = ret as unknown as (pattern: string) => Root;
const { types } = ret;

/**
 * An upper bound on the paths a backtracking match of `pattern` may try on a text of
 * `textLength` characters: every start position, times, for each quantifier, the
 * number of lengths it may take (an unbounded one, up to the whole text). A pattern
 * that passed safe-regex2 has no quantifier inside another, so the product bounds
 * the work of one match; it overstates it where quantifiers cannot overlap
 * (`[a-z]{20,}\d+`), which is the price of a check that reads the pattern alone.
 * Throws what the tokenizer throws on a pattern it cannot read.
 */
export function backtrackingPaths(pattern: string, textLength: number): number {
	let paths = textLength;
	const visit = (token: Tokens): void => {
		if (token.type === types.REPETITION) {
			const max =
				token.max === null || !Number.isFinite(token.max) ? textLength : Math.min(token.max, textLength);
			paths *= Math.max(1, max - token.min + 1);
			visit(token.value);
			return;
		}
		if (token.type === types.ROOT || token.type === types.GROUP) {
			for (const child of token.stack ?? []) visit(child);
			for (const option of token.options ?? []) for (const child of option as Token[]) visit(child);
		}
	};
	visit(tokenize(pattern));
	return paths;
}
