import { randomBytes } from "node:crypto";
import type { SignalBatch } from "../core/model.js";

/** The one span TestExporter sends, marked so receivers can tell it from real traffic. */
export function testSpanBatch(environmentId: string, exporterName: string): SignalBatch {
	const now = BigInt(Date.now()) * 1_000_000n;
	return {
		signal: "traces",
		items: [
			{
				signal: "traces",
				resource: { attributes: { "service.name": "taskmesh-telemetry" } },
				scope: { name: "taskmesh.telemetry.test", version: "" },
				traceId: randomBytes(16).toString("hex"),
				spanId: randomBytes(8).toString("hex"),
				parentSpanId: "",
				name: "taskmesh.exporter.test",
				kind: 1,
				startTimeUnixNano: now,
				endTimeUnixNano: now,
				attributes: {
					"taskmesh.exporter": exporterName,
					"taskmesh.environment_id": environmentId,
					"taskmesh.test": true,
				},
				events: [],
				links: [],
				statusCode: 1,
				statusMessage: "",
			},
		],
	};
}
