import { type FileHandle, open, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ExportFailure, errorMessage, InvalidExporterConfig } from "../core/exporter-errors.js";
import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import { ALL_SIGNALS, type SignalBatch } from "../core/model.js";
import { assertUnderRoots } from "./allowed-roots.js";
import { itemLine } from "./item-json.js";

/**
 * Appends one JSON line per item. The file is opened on first export and
 * reopened after an error, so a rotated or removed file is recreated.
 */
class FileSink implements ExporterSink {
	readonly signals = ALL_SIGNALS;
	private handle: Promise<FileHandle> | undefined;

	/**
	 * checkRoots runs again before each open: a symlink made under a root after
	 * registration must not lead the writes out of it.
	 */
	constructor(
		private readonly path: string,
		private readonly checkRoots: (() => Promise<void>) | undefined,
	) {}

	async export(batch: SignalBatch): Promise<void> {
		const text = `${batch.items.map(itemLine).join("\n")}\n`;
		try {
			this.handle ??= this.open();
			// One write per batch: lines of a batch never interleave with another's.
			await (await this.handle).write(text);
		} catch (error) {
			const handle = this.handle;
			this.handle = undefined;
			await handle?.then((h) => h.close()).catch(() => {});
			throw new ExportFailure(`writing ${this.path} failed: ${errorMessage(error)}`, true);
		}
	}

	private async open(): Promise<FileHandle> {
		await this.checkRoots?.();
		return open(this.path, "a");
	}

	async shutdown(): Promise<void> {
		const handle = this.handle;
		this.handle = undefined;
		await handle?.then((h) => h.close()).catch(() => {});
	}
}

/** JSON lines appended to a file whose directory must exist, under one of roots when any are given. */
export function fileFactory(roots: readonly string[] = []): SinkFactory<"file"> {
	return {
		kind: "file",
		signals: ALL_SIGNALS,
		async create(target) {
			const field = "config.file.path";
			const checkRoots = () => assertUnderRoots(target.path, roots, field, "TELEMETRY_FILE_ROOTS");
			await checkRoots();
			const directory = dirname(target.path);
			const info = await stat(directory).catch(() => undefined);
			if (info === undefined || !info.isDirectory()) {
				throw new InvalidExporterConfig(field, `directory ${directory} does not exist`);
			}
			if ((await stat(target.path).catch(() => undefined))?.isDirectory()) {
				throw new InvalidExporterConfig(field, `${target.path} is a directory; name a file`);
			}
			return new FileSink(target.path, roots.length === 0 ? undefined : checkRoots);
		},
	};
}
