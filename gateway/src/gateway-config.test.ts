import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { ConfigError } from "../../services/kit/src/index.js";
import { runToExit } from "../../services/kit/src/testing/process.js";
import { loadGatewayConfig } from "./gateway-config.js";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));

describe("gateway configuration", () => {
	test("defaults give port 8080, no CORS and only OTLP exporters", () => {
		const config = loadGatewayConfig({});
		assert.equal(config.GATEWAY_PORT, 8080);
		assert.equal(config.GATEWAY_CORS_ORIGINS, undefined);
		assert.deepEqual(config.GATEWAY_EXPORTER_KINDS, ["otlp_http", "otlp_grpc"]);
		assert.equal(config.GATEWAY_RATE_LIMIT_PER_SECOND, 100);
	});

	test("origin and exporter lists are split; * and none are understood", () => {
		const listed = loadGatewayConfig({
			GATEWAY_CORS_ORIGINS: "https://a.example.com, http://localhost:3000",
			GATEWAY_EXPORTER_KINDS: "otlp_http,plugin",
		});
		assert.deepEqual(listed.GATEWAY_CORS_ORIGINS, ["https://a.example.com", "http://localhost:3000"]);
		assert.deepEqual(listed.GATEWAY_EXPORTER_KINDS, ["otlp_http", "plugin"]);
		const open = loadGatewayConfig({ GATEWAY_CORS_ORIGINS: "*", GATEWAY_EXPORTER_KINDS: "none" });
		assert.equal(open.GATEWAY_CORS_ORIGINS, "*");
		assert.deepEqual(open.GATEWAY_EXPORTER_KINDS, []);
	});

	test("every bad variable is named with what is accepted", () => {
		assert.throws(
			() =>
				loadGatewayConfig({
					GATEWAY_PORT: "http",
					GATEWAY_CORS_ORIGINS: "app.example.com",
					GATEWAY_EXPORTER_KINDS: "otlp_http,shell",
					GATEWAY_RATE_LIMIT_BURST: "0",
				}),
			(error: unknown) => {
				assert.ok(error instanceof ConfigError);
				assert.equal(error.problems.length, 4);
				assert.match(error.message, /GATEWAY_PORT="http": expected a whole number from 0 to 65535/);
				assert.match(
					error.message,
					/GATEWAY_CORS_ORIGINS="app.example.com": expected "\*" or a comma-separated/,
				);
				assert.match(error.message, /GATEWAY_EXPORTER_KINDS="otlp_http,shell": expected "none" or/);
				assert.match(error.message, /GATEWAY_RATE_LIMIT_BURST="0": expected a whole number from 1/);
				return true;
			},
		);
	});

	test("the gateway's main exits 78 naming a bad variable before it listens", async () => {
		const result = await runToExit(process.execPath, ["--import", "tsx", main], {
			GATEWAY_READ_MAX_BYTES: "lots",
		});
		assert.equal(result.code, 78);
		assert.match(result.stderr, /GATEWAY_READ_MAX_BYTES="lots": expected a whole number from 1024/);
		assert.equal(result.stdout.includes("gateway listening"), false);
	});
});
