import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { ServiceError } from "../../../services/kit/src/index.js";

/** The contract's reference from a new run or batch to the run that made it. */
const PARENT_REF = "taskmesh.scheduler.v1.ParentRef";

/** The caller's remaining time and cancellation, passed on to the lookup. */
export interface LookupOptions {
	timeoutMs: number | undefined;
	signal: AbortSignal;
}

/** Looks a run up in an environment; resolves false when it is not there. */
export type RunExists = (environmentId: string, runId: string, options: LookupOptions) => Promise<boolean>;

/** The request field that names a parent run, if the request type has one. */
export function parentRefField(desc: DescMessage): DescField | undefined {
	return desc.fields.find((f) => f.fieldKind === "message" && f.message.typeName === PARENT_REF);
}

/**
 * Refuses a request whose parent run is not a run of the caller's environment,
 * with the same NOT_FOUND an unknown run gets, so a key can neither attach
 * work to another environment's run tree nor learn that the run exists.
 */
export async function checkParentRun(
	message: object,
	field: DescField,
	environmentId: string,
	runExists: RunExists,
	options: LookupOptions,
): Promise<void> {
	const parent = (message as Record<string, unknown>)[field.localName] as { runId?: string } | undefined;
	const runId = parent?.runId ?? "";
	if (runId === "") return;
	if (!(await runExists(environmentId, runId, options))) {
		throw new ServiceError("NOT_FOUND", `${field.name}.run_id: run "${runId}" was not found`);
	}
}
