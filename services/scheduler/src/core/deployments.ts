import { ServiceError } from "../../../kit/src/index.js";
import { newId } from "./ids.js";
import { inTransaction, type SchedulerContext } from "./scheduler-context.js";
import { storeTasks, type TaskDefinition } from "./task-catalog.js";
import { checkTaskDefinitions } from "./task-definition-rules.js";

/** A deployment as the core returns it. */
export interface DeploymentRecord {
	id: string;
	environmentId: string;
	version: string;
	tasks: TaskDefinition[];
	current: boolean;
	createdAt: Date;
	promotedAt: Date | null;
}

interface DeploymentRow {
	id: string;
	environment_id: string;
	version: string;
	tasks: TaskDefinition[];
	is_current: boolean;
	created_at: Date;
	promoted_at: Date | null;
}

const VERSION = /^[A-Za-z0-9._-]{1,64}$/;

function fromRow(r: DeploymentRow): DeploymentRecord {
	return {
		id: r.id,
		environmentId: r.environment_id,
		version: r.version,
		tasks: r.tasks,
		current: r.is_current,
		createdAt: r.created_at,
		promotedAt: r.promoted_at,
	};
}

/** Deployments: versions of an environment's tasks, one of them current. */
export class DeploymentRegistry {
	constructor(private readonly ctx: SchedulerContext) {}

	/** Records a version and its tasks, not current yet. A version is created once. */
	async create(environmentId: string, version: string, tasks: TaskDefinition[]): Promise<DeploymentRecord> {
		if (environmentId === "") throw ServiceError.invalidField("environment_id", "is required");
		if (!VERSION.test(version)) {
			throw ServiceError.invalidField("version", "expected 1 to 64 letters, digits or . _ -");
		}
		if (tasks.length === 0) throw ServiceError.invalidField("tasks", "at least one task is required");
		const now = new Date(this.ctx.clock.now());
		checkTaskDefinitions(tasks, now);
		return inTransaction(this.ctx.pool, async (client) => {
			const { rows } = await client.query<DeploymentRow>(
				`INSERT INTO deployments (id, environment_id, version, tasks, created_at) VALUES ($1, $2, $3, $4, $5)
				 ON CONFLICT (environment_id, version) DO NOTHING RETURNING *`,
				[newId("deploy", now.getTime()), environmentId, version, JSON.stringify(tasks), now],
			);
			if (rows[0] === undefined) {
				throw new ServiceError(
					"ALREADY_EXISTS",
					`version: deployment "${version}" already exists in environment "${environmentId}"`,
				);
			}
			await storeTasks(client, environmentId, version, tasks);
			return fromRow(rows[0]);
		});
	}

	/** Makes a version current (and the previous current one not). */
	async promote(environmentId: string, version: string): Promise<DeploymentRecord> {
		const now = new Date(this.ctx.clock.now());
		return inTransaction(this.ctx.pool, async (client) => {
			const target = await client.query<DeploymentRow>(
				"SELECT * FROM deployments WHERE environment_id = $1 AND version = $2 FOR UPDATE",
				[environmentId, version],
			);
			if (target.rows[0] === undefined) throw ServiceError.notFound("deployment", version);
			await client.query(
				"UPDATE deployments SET is_current = false WHERE environment_id = $1 AND is_current",
				[environmentId],
			);
			const { rows } = await client.query<DeploymentRow>(
				"UPDATE deployments SET is_current = true, promoted_at = $3 WHERE environment_id = $1 AND version = $2 RETURNING *",
				[environmentId, version, now],
			);
			return fromRow(rows[0] as DeploymentRow);
		});
	}

	/** The current deployment; NOT_FOUND when the environment has none. */
	async current(environmentId: string): Promise<DeploymentRecord> {
		const { rows } = await this.ctx.pool.query<DeploymentRow>(
			"SELECT * FROM deployments WHERE environment_id = $1 AND is_current",
			[environmentId],
		);
		if (rows[0] === undefined)
			throw new ServiceError("NOT_FOUND", `environment "${environmentId}" has no current deployment`);
		return fromRow(rows[0]);
	}

	/** Deployments newest first, paged by offset. */
	async list(
		environmentId: string,
		pageSize: number,
		offset: number,
	): Promise<{ deployments: DeploymentRecord[]; nextOffset: number }> {
		const { rows } = await this.ctx.pool.query<DeploymentRow>(
			`SELECT * FROM deployments WHERE environment_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`,
			[environmentId, pageSize + 1, offset],
		);
		return {
			deployments: rows.slice(0, pageSize).map(fromRow),
			nextOffset: rows.length > pageSize ? offset + pageSize : 0,
		};
	}
}
