import { z } from "zod";

/** Start-up configuration is wrong; the message names every bad variable. */
export class ConfigError extends Error {
	override readonly name = "ConfigError";
	constructor(readonly problems: string[]) {
		super(`invalid configuration:\n  ${problems.join("\n  ")}`);
	}
}

/** The raw environment a parser reads. */
export type Environment = Record<string, string | undefined>;

/**
 * Parses environment variables once, at start-up, with a zod object schema keyed
 * by variable name. Throws ConfigError naming each variable, its value and what
 * is accepted.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: Environment = process.env): z.infer<S> {
	const relevant: Record<string, string> = {};
	for (const key of Object.keys(schema.shape)) {
		const value = env[key];
		// An empty variable counts as unset, as shells and compose files often leave them.
		if (value !== undefined && value !== "") relevant[key] = value;
	}
	const result = schema.safeParse(relevant);
	if (result.success) return result.data;
	const problems = result.error.issues.map((issue) => {
		const key = String(issue.path[0] ?? "?");
		const value = relevant[key];
		const shown = value === undefined ? "unset" : JSON.stringify(value);
		return `${key}=${shown}: ${issue.message}`;
	});
	throw new ConfigError(problems);
}

/** A TCP port; 0 picks a free one. */
export function portVar(defaultPort: number) {
	return z.coerce
		.number({ error: "expected a whole number from 0 to 65535" })
		.int({ error: "expected a whole number from 0 to 65535" })
		.min(0, { error: "expected a whole number from 0 to 65535" })
		.max(65535, { error: "expected a whole number from 0 to 65535" })
		.default(defaultPort);
}

/** A positive whole number with bounds stated in the error. */
export function intVar(defaultValue: number, min: number, max: number) {
	const message = `expected a whole number from ${min} to ${max}`;
	return z.coerce
		.number({ error: message })
		.int({ error: message })
		.min(min, { error: message })
		.max(max, { error: message })
		.default(defaultValue);
}

/** One of a fixed set of words. */
export function enumVar<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
	return z.enum(values, { error: `expected one of ${values.join(", ")}` }).default(defaultValue as never);
}

/** A URL with one of the given schemes. */
export function urlVar(defaultValue: string, schemes: string[]) {
	const message = `expected a URL starting with ${schemes.map((s) => `${s}://`).join(" or ")}`;
	return z
		.string()
		.refine(
			(value) => {
				try {
					return schemes.includes(new URL(value).protocol.replace(/:$/, ""));
				} catch {
					return false;
				}
			},
			{ error: message },
		)
		.default(defaultValue);
}

/** true/false, 1/0, yes/no. */
export function boolVar(defaultValue: boolean) {
	return z
		.enum(["true", "false", "1", "0", "yes", "no"], {
			error: "expected true or false",
		})
		.transform((v) => v === "true" || v === "1" || v === "yes")
		.default(defaultValue);
}
