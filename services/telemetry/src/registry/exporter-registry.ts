import { randomUUID } from "node:crypto";
import type pg from "pg";
import type { Logger } from "pino";
import type { ExporterConfig } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { inTransaction, ServiceError } from "../../../kit/src/index.js";
import { errorMessage, InvalidExporterConfig } from "../core/exporter-errors.js";
import type { ExporterFanout, RegisteredExporter } from "../core/exporter-fanout.js";
import type { ExporterSink, SinkBuilder } from "../core/exporter-sink.js";
import type { ExporterSpec } from "../core/exporter-spec.js";
import { compileFilter } from "../core/item-filter.js";
import { ALL_SIGNALS } from "../core/model.js";
import { compileRedaction } from "../core/redaction.js";
import { shutdownWithin } from "../core/sink-shutdown.js";
import { specFromConfig } from "../proto/exporter-config.js";
import {
	countExporters,
	deleteExporter,
	insertExporter,
	listAllExporters,
	listExporters,
	notifyChange,
	type StoredExporter,
	selectExporter,
	updateExporterConfig,
} from "./exporter-store.js";

/** Options of ExporterRegistry. */
export interface ExporterRegistryOptions {
	pool: pg.Pool;
	fanout: ExporterFanout;
	builder: SinkBuilder;
	/** The NOTIFY channel every replica of this schema listens on. */
	channel: string;
	maxExportersPerEnvironment: number;
	logger: Logger;
}

/**
 * The exporter registry: checks a config completely (including building its
 * exporter, so a module that does not load is refused) before one transaction
 * writes it and notifies the other replicas; then runs it here at once.
 */
export class ExporterRegistry {
	private readonly options: ExporterRegistryOptions;

	constructor(options: ExporterRegistryOptions) {
		this.options = options;
	}

	/** Adds an exporter; ALREADY_EXISTS when the name is taken. */
	async register(environmentId: string, config: ExporterConfig): Promise<StoredExporter> {
		const spec = checkedSpec(config);
		const { pool, maxExportersPerEnvironment } = this.options;
		if ((await selectExporter(pool, environmentId, config.name)) !== undefined)
			throw alreadyExists(config.name);
		const sink = await this.build(spec, environmentId);
		let stored: StoredExporter;
		try {
			stored = await this.transaction(async (client) => {
				// Serialises registrations of one environment so the count check holds.
				await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [
					`telemetry.exporters:${environmentId}`,
				]);
				const count = await countExporters(client, environmentId);
				if (count >= maxExportersPerEnvironment) {
					throw new ServiceError(
						"RESOURCE_EXHAUSTED",
						`environment ${environmentId} has ${count} exporters, the limit (TELEMETRY_MAX_EXPORTERS_PER_ENVIRONMENT)`,
					);
				}
				const row = await insertExporter(client, { id: randomUUID(), environmentId, config });
				await notifyChange(client, this.options.channel, row.id);
				return row;
			});
		} catch (error) {
			await shutdownWithin(sink, spec.timeoutMs, this.options.logger);
			if ((error as { code?: string }).code === "23505") throw alreadyExists(config.name);
			throw error;
		}
		await this.options.fanout.install(entryOf(stored, spec), sink);
		return stored;
	}

	/** Replaces a config; the running exporter is swapped at once, keeping its queue. */
	async update(
		environmentId: string,
		name: string,
		config: ExporterConfig,
		expectedRevision: number | undefined,
	): Promise<StoredExporter> {
		if (config.name !== name) {
			throw ServiceError.invalidField(
				"config.name",
				`"${config.name}" must equal name "${name}" (renaming is not supported)`,
			);
		}
		const spec = checkedSpec(config);
		if ((await selectExporter(this.options.pool, environmentId, name)) === undefined) throw notFound(name);
		const sink = await this.build(spec, environmentId);
		let stored: StoredExporter;
		try {
			stored = await this.transaction(async (client) => {
				const current = await selectExporter(client, environmentId, name, true);
				if (current === undefined) throw notFound(name);
				if (expectedRevision !== undefined && current.revision !== expectedRevision) {
					throw new ServiceError(
						"FAILED_PRECONDITION",
						`expected_revision: exporter "${name}" is at revision ${current.revision}, not ${expectedRevision}`,
						{
							fieldViolations: [
								{ field: "expected_revision", description: `the stored revision is ${current.revision}` },
							],
						},
					);
				}
				const row = await updateExporterConfig(client, current.id, config);
				await notifyChange(client, this.options.channel, row.id);
				return row;
			});
		} catch (error) {
			await shutdownWithin(sink, spec.timeoutMs, this.options.logger);
			throw error;
		}
		await this.options.fanout.install(entryOf(stored, spec), sink);
		return stored;
	}

	/** Removes an exporter; what it still queued is dropped. */
	async delete(environmentId: string, name: string): Promise<void> {
		const id = await this.transaction(async (client) => {
			const deleted = await deleteExporter(client, environmentId, name);
			if (deleted !== undefined) await notifyChange(client, this.options.channel, deleted);
			return deleted;
		});
		if (id === undefined) throw notFound(name);
		await this.options.fanout.remove(id);
	}

	/** One exporter. */
	async get(environmentId: string, name: string): Promise<StoredExporter> {
		const stored = await selectExporter(this.options.pool, environmentId, name);
		if (stored === undefined) throw notFound(name);
		return stored;
	}

	/** Exporters of an environment by name. */
	list(environmentId: string): Promise<StoredExporter[]> {
		return listExporters(this.options.pool, environmentId);
	}

	/**
	 * Re-reads every exporter and makes the running set match (another replica
	 * changed it, or the periodic reload). A stored config that no longer builds
	 * here runs as an unhealthy exporter with the error.
	 */
	async reload(): Promise<void> {
		const entries: RegisteredExporter[] = [];
		for (const stored of await listAllExporters(this.options.pool)) {
			try {
				entries.push(entryOf(stored, checkedSpec(stored.config)));
			} catch (error) {
				this.options.logger.error(
					{ exporter: stored.name, err: errorMessage(error) },
					"stored exporter config is invalid",
				);
			}
		}
		await this.options.fanout.sync(entries);
	}

	private async build(spec: ExporterSpec, environmentId: string): Promise<ExporterSink> {
		try {
			return await this.options.builder.build(spec, environmentId);
		} catch (error) {
			if (error instanceof InvalidExporterConfig)
				throw ServiceError.invalidField(error.field, error.description);
			throw new ServiceError(
				"FAILED_PRECONDITION",
				`exporter "${spec.name}" could not be built: ${errorMessage(error)}`,
			);
		}
	}

	private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
		return inTransaction(this.options.pool, work);
	}
}

/** The spec of a config, with patterns compiled once to prove they are valid. */
function checkedSpec(config: ExporterConfig): ExporterSpec {
	try {
		const spec = specFromConfig(config);
		compileFilter(spec.filter, ALL_SIGNALS);
		compileRedaction(spec.redaction);
		return spec;
	} catch (error) {
		if (error instanceof InvalidExporterConfig)
			throw ServiceError.invalidField(error.field, error.description);
		throw error;
	}
}

function entryOf(stored: StoredExporter, spec: ExporterSpec): RegisteredExporter {
	return { id: stored.id, environmentId: stored.environmentId, revision: stored.revision, spec };
}

function alreadyExists(name: string): ServiceError {
	return new ServiceError(
		"ALREADY_EXISTS",
		`config.name: an exporter named "${name}" already exists in this environment`,
		{
			fieldViolations: [{ field: "config.name", description: "already taken in this environment" }],
		},
	);
}

function notFound(name: string): ServiceError {
	return ServiceError.notFound("exporter", name);
}
