/**
 * The `taskmesh` command: run a worker or the local platform, trigger tasks,
 * read runs and logs, send batches, manage API keys and exporters. Errors print
 * as one readable line and exit non-zero.
 */
import { TaskmeshError } from "../client/errors.js";
import { TaskLoadError } from "../worker/attempt-process.js";
import { parseArgs, UsageError } from "./args.js";
import { exportersCommand } from "./commands/exporters-command.js";
import { logsCommand } from "./commands/logs-command.js";
import { devCommand, keysCommand } from "./commands/platform-commands.js";
import { batchCommand, runsCommand, triggerCommand } from "./commands/run-commands.js";
import { workerCommand } from "./commands/worker-command.js";

const USAGE = `usage: taskmesh <command>
  dev <task files>                 the platform and a development worker
  worker <task files>              a worker (--cpu, --memory-gb, --max-attempts, --prefetch, --grace-ms, --id, --version)
  trigger <task> [json] [--wait]   trigger a run (--delay, --machine, --idempotency-key)
  runs ls|get|cancel|replay [run]  read and manage runs (ls: --status, --task, --limit)
  logs <run> [--follow]            a run's logs
  batch <file.json> [--wait]       trigger a batch from a JSON array of { task, payload }
  keys create|revoke ...           API keys (the gateway's key command)
  exporters ls|add|rm ...          telemetry exporters
Connection: TASKMESH_URL + TASKMESH_API_KEY (gateway), or TASKMESH_<SERVICE>_URL + TASKMESH_ENVIRONMENT.`;

const SWITCHES = new Set(["wait", "follow", "console", "help"]);

async function main(argv: string[]): Promise<void> {
	const [command, ...rest] = argv;
	if (command === "keys") return keysCommand(rest);
	const args = parseArgs(rest, SWITCHES);
	switch (command) {
		case "dev":
			return devCommand(args);
		case "worker":
			return workerCommand(args, false);
		case "trigger":
			return triggerCommand(args);
		case "runs":
			return runsCommand(args);
		case "logs":
			return logsCommand(args);
		case "batch":
			return batchCommand(args);
		case "exporters":
			return exportersCommand(args);
		case undefined:
		case "help":
		case "--help":
			console.log(USAGE);
			return;
		default:
			throw new UsageError(`unknown command "${command}"\n${USAGE}`);
	}
}

try {
	await main(process.argv.slice(2));
} catch (error) {
	process.stderr.write(`taskmesh: ${oneLine(error)}\n`);
	process.exitCode = error instanceof UsageError ? 2 : 1;
}

function oneLine(error: unknown): string {
	if (error instanceof TaskLoadError)
		return `a task file failed to load: ${error.error.name}: ${error.message}`;
	if (error instanceof TaskmeshError) return `${error.name}: ${error.message}`;
	if (error instanceof Error) return `${error.name}: ${error.message}`;
	return String(error);
}
