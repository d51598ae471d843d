import type { ExporterSink, SinkFactory } from "../core/exporter-sink.js";
import { ALL_SIGNALS } from "../core/model.js";
import { itemLine, replacer } from "./item-json.js";

/** Prints items to standard output: one JSON line each, or an indented block. */
export const consoleFactory: SinkFactory<"console"> = {
	kind: "console",
	signals: ALL_SIGNALS,
	async create(target, spec) {
		const sink: ExporterSink = {
			signals: ALL_SIGNALS,
			async export(batch) {
				const text = batch.items
					.map((item) =>
						target.compact
							? itemLine(item)
							: `[${spec.name}] ${item.signal}\n${JSON.stringify(item, replacer, 2)}`,
					)
					.join("\n");
				await new Promise<void>((resolve, reject) =>
					process.stdout.write(`${text}\n`, (error) => (error ? reject(error) : resolve())),
				);
			},
			async shutdown() {},
		};
		return sink;
	},
};
