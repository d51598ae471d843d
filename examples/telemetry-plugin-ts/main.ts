import { ExporterPluginService } from "../../gen/taskmesh/telemetry/v1/telemetry_pb.js";
import { createLogger, GrpcServiceHost, registration } from "../../services/kit/src/index.js";
import { type PluginMode, RecordingPlugin } from "./recording-plugin.js";

// A standalone exporter plugin: PLUGIN_PORT (default 50100), PLUGIN_MODE (record|stall|...).
const port = Number(process.env.PLUGIN_PORT ?? 50100);
const plugin = new RecordingPlugin({ mode: (process.env.PLUGIN_MODE ?? "record") as PluginMode });
const logger = createLogger({ level: "info", service: "telemetry-plugin-ts" });
const host = await GrpcServiceHost.start({
	host: "127.0.0.1",
	port,
	services: [registration(ExporterPluginService, plugin.implementation())],
	logger,
});
const timer = setInterval(() => logger.info({ spans: plugin.spans.length }, "received so far"), 10_000);
process.once("SIGINT", () => {
	clearInterval(timer);
	void host.drain().then(() => process.exit(0));
});
