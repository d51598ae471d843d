import { configFromEnv } from "../../client/config.js";
import { Worker } from "../../worker/worker.js";
import type { ParsedArgs } from "../args.js";
import { workerOptionsOf } from "./worker-options.js";

/** `taskmesh worker <entry...>`: runs the project's tasks until SIGTERM or SIGINT. */
export async function workerCommand(args: ParsedArgs, development: boolean): Promise<void> {
	const worker = await Worker.start(workerOptionsOf(args, development, configFromEnv(), process.env));
	await new Promise<void>((resolve) => {
		const stop = () => {
			process.off("SIGTERM", stop);
			process.off("SIGINT", stop);
			void worker.stop().then(resolve);
		};
		process.on("SIGTERM", stop);
		process.on("SIGINT", stop);
	});
}
