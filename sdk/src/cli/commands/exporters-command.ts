import { ExporterHealth } from "../../../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { call } from "../../client/errors.js";
import { sdkClients } from "../../client/sdk-config.js";
import { flag, type ParsedArgs, UsageError } from "../args.js";

/** `taskmesh exporters ls | add <name> --otlp-http <url> | --file <path> | --console | rm <name>`. */
export async function exportersCommand(args: ParsedArgs): Promise<void> {
	const [sub, name] = args.positional;
	const clients = sdkClients();
	const environmentId = clients.environmentId;
	switch (sub) {
		case "ls": {
			const list = await call(clients.exporters.listExporters({ environmentId }));
			for (const e of list.exporters) {
				const health = ExporterHealth[e.status?.health ?? 0] ?? "";
				console.log(
					`${(e.config?.name ?? "").padEnd(24)} ${(e.config?.kind.case ?? "").padEnd(10)} ${health.padEnd(10)} exported ${e.status?.exported ?? 0n} dropped ${e.status?.dropped ?? 0n}`,
				);
			}
			return;
		}
		case "add": {
			if (name === undefined)
				throw new UsageError(
					"usage: taskmesh exporters add <name> --otlp-http <url> | --otlp-grpc <url> | --file <path> | --console",
				);
			const kind = exporterKind(args);
			const created = await call(
				clients.exporters.registerExporter({ environmentId, config: { name, enabled: true, kind } }),
			);
			console.log(`added ${created.exporter?.config?.name} (${created.exporter?.id})`);
			return;
		}
		case "rm":
			if (name === undefined) throw new UsageError("usage: taskmesh exporters rm <name>");
			await call(clients.exporters.deleteExporter({ environmentId, name }));
			console.log(`removed ${name}`);
			return;
		default:
			throw new UsageError("exporters: use one of ls, add <name> ..., rm <name>");
	}
}

function exporterKind(args: ParsedArgs) {
	const http = flag(args, "otlp-http");
	if (http !== undefined) return { case: "otlpHttp" as const, value: { endpoint: http } };
	const grpc = flag(args, "otlp-grpc");
	if (grpc !== undefined) return { case: "otlpGrpc" as const, value: { endpoint: grpc } };
	const file = flag(args, "file");
	if (file !== undefined) return { case: "file" as const, value: { path: file } };
	if (args.flags.get("console") === true) return { case: "console" as const, value: { compact: true } };
	throw new UsageError(
		"exporters add: give one of --otlp-http <url>, --otlp-grpc <url>, --file <path>, --console",
	);
}
