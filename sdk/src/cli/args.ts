/** A command line split into positional words and --flags. */
export interface ParsedArgs {
	positional: string[];
	flags: Map<string, string | true>;
}

/** Parses `--name value`, `--name=value` and bare `--switch` (for names listed in switches). */
export function parseArgs(argv: string[], switches: ReadonlySet<string>): ParsedArgs {
	const positional: string[] = [];
	const flags = new Map<string, string | true>();
	for (let i = 0; i < argv.length; i++) {
		const word = argv[i] as string;
		if (!word.startsWith("--")) {
			positional.push(word);
			continue;
		}
		const eq = word.indexOf("=");
		if (eq > 0) {
			flags.set(word.slice(2, eq), word.slice(eq + 1));
		} else if (switches.has(word.slice(2))) {
			flags.set(word.slice(2), true);
		} else {
			const value = argv[i + 1];
			if (value === undefined) throw new UsageError(`${word} needs a value`);
			flags.set(word.slice(2), value);
			i++;
		}
	}
	return { positional, flags };
}

/** A flag's string value, or undefined. */
export function flag(args: ParsedArgs, name: string): string | undefined {
	const v = args.flags.get(name);
	return typeof v === "string" ? v : undefined;
}

/** The command line is wrong; the message says how. */
export class UsageError extends Error {
	override name = "UsageError";
}
