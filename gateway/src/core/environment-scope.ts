import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ServiceError } from "../../../services/kit/src/index.js";

/** The name every contract gives the field that says which environment a message belongs to. */
export const ENVIRONMENT_FIELD = "environment_id";

/** Fields from a request down to one environment_id field. */
export type EnvironmentPath = readonly DescField[];

/**
 * Every place a request message can name an environment, found once from its
 * descriptor: top-level fields, fields of nested messages (a stream header),
 * and fields of repeated messages (log chunks). Recursive types are walked once.
 */
export function environmentPaths(desc: DescMessage): EnvironmentPath[] {
	const paths: EnvironmentPath[] = [];
	const walk = (message: DescMessage, prefix: DescField[], seen: Set<string>) => {
		for (const field of message.fields) {
			if (field.name === ENVIRONMENT_FIELD && field.fieldKind === "scalar") {
				paths.push([...prefix, field]);
			} else if (
				(field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")) &&
				!seen.has(field.message.typeName)
			) {
				walk(field.message, [...prefix, field], new Set([...seen, field.message.typeName]));
			}
		}
	};
	walk(desc, [], new Set([desc.typeName]));
	return paths;
}

/**
 * Makes a request name the caller's environment: an empty environment_id is
 * filled in; one naming another environment is refused with PERMISSION_DENIED,
 * so a mistaken key never writes to, or reads from, the wrong environment.
 */
export function scopeToEnvironment(
	message: object,
	paths: readonly EnvironmentPath[],
	environmentId: string,
): void {
	for (const path of paths) visit(message, path, 0, "", environmentId);
}

function visit(message: object, path: EnvironmentPath, depth: number, at: string, env: string): void {
	const field = path[depth] as DescField;
	const name = at === "" ? field.name : `${at}.${field.name}`;
	const value = read(message, field);
	if (depth === path.length - 1) {
		if (value === "") write(message, field, env);
		else if (value !== env) throw environmentMismatch(name, String(value), env);
		return;
	}
	if (field.fieldKind === "list") {
		const items = value as object[];
		for (let i = 0; i < items.length; i++) visit(items[i] as object, path, depth + 1, `${name}[${i}]`, env);
	} else if (value !== undefined) {
		visit(value as object, path, depth + 1, name, env);
	}
}

// Generated messages are plain objects keyed by localName; a oneof member lives
// under the oneof's name as { case, value }.
function read(message: object, field: DescField): unknown {
	const record = message as Record<string, unknown>;
	if (field.oneof !== undefined) {
		const chosen = record[field.oneof.localName] as { case?: string; value?: unknown } | undefined;
		return chosen?.case === field.localName ? chosen.value : undefined;
	}
	return record[field.localName];
}

function write(message: object, field: DescField, value: string): void {
	const record = message as Record<string, unknown>;
	if (field.oneof !== undefined) record[field.oneof.localName] = { case: field.localName, value };
	else record[field.localName] = value;
}

function environmentMismatch(field: string, named: string, env: string): ServiceError {
	return new ServiceError(
		"PERMISSION_DENIED",
		`${field}: "${named}" is not the environment of this API key ("${env}"); leave it empty or use a key of that environment`,
		{ reason: "ENVIRONMENT_MISMATCH", metadata: { field } },
	);
}
