import type pg from "pg";
import { ServiceError } from "../../../kit/src/index.js";
import type { MachineRequest } from "./machine-presets.js";
import type { RetrySettings } from "./retry-delay.js";

/** A task as a deployment or a development worker declares it. */
export interface TaskDefinition {
	id: string;
	queue: string;
	machine?: MachineRequest;
	retry?: Partial<RetrySettings>;
	maxDurationMs?: number;
	queueConcurrencyLimit: number;
	cron: string;
	cronTimezone: string;
}

/**
 * The version of the environment's current deployment, or "" when it has none
 * (development). One narrow query answered from the partial unique index
 * deployments_current_idx alone (index-only: the version is an INCLUDE column).
 * Every StartAttempt of an unlocked run makes exactly this one lookup.
 */
export async function currentDeploymentVersion(
	client: pg.PoolClient | pg.Pool,
	environmentId: string,
): Promise<string> {
	const { rows } = await client.query<{ version: string }>(CURRENT_DEPLOYMENT_SQL, [environmentId]);
	return rows[0]?.version ?? "";
}

/** The SQL of the current-deployment lookup (exported for its EXPLAIN test). */
export const CURRENT_DEPLOYMENT_SQL =
	"SELECT version FROM deployments WHERE environment_id = $1 AND is_current";

/**
 * Finds task definitions for a trigger: in the given version, else in the current
 * deployment, else among development workers (version ""). Unknown tasks are NOT_FOUND
 * naming the field.
 */
export async function findTasks(
	client: pg.PoolClient | pg.Pool,
	environmentId: string,
	version: string,
	taskIds: string[],
): Promise<Map<string, TaskDefinition>> {
	// One round trip: the current version comes from the same index-only lookup as a subquery.
	// Named: every trigger runs it, so each connection parses and plans it once.
	const { rows } = await client.query<{ task_id: string; definition: TaskDefinition }>({
		name: "scheduler-find-tasks",
		text: `SELECT task_id, definition FROM task_definitions
		 WHERE environment_id = $1 AND task_id = ANY($3) AND deployment_version = CASE WHEN $2 <> '' THEN $2
			ELSE COALESCE((SELECT version FROM deployments WHERE environment_id = $1 AND is_current), '') END`,
		values: [environmentId, version, taskIds],
	});
	return new Map(rows.map((r) => [r.task_id, r.definition]));
}

/** The error for a task the environment does not know. */
export function unknownTask(
	field: string,
	environmentId: string,
	taskId: string,
	version: string,
): ServiceError {
	const where =
		version === ""
			? "the current deployment or a registered development worker"
			: `deployment version "${version}"`;
	return new ServiceError(
		"NOT_FOUND",
		`${field}: task "${taskId}" is not declared by ${where} of environment "${environmentId}"`,
		{
			fieldViolations: [{ field, description: `unknown task "${taskId}"` }],
		},
	);
}

/** Stores the task definitions of a version, replacing what the version had. */
export async function storeTasks(
	client: pg.PoolClient,
	environmentId: string,
	version: string,
	tasks: TaskDefinition[],
): Promise<void> {
	await client.query(
		`INSERT INTO task_definitions (environment_id, deployment_version, task_id, definition)
		 SELECT $1, $2, t->>'id', t FROM jsonb_array_elements($3::jsonb) AS t
		 ON CONFLICT (environment_id, deployment_version, task_id) DO UPDATE SET definition = EXCLUDED.definition`,
		[environmentId, version, JSON.stringify(tasks)],
	);
}
