import { fileURLToPath } from "node:url";
import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import {
	createConnectTransport,
	createGrpcTransport,
	createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { runToExit } from "../../../services/kit/src/testing/process.js";

/** The repository's buf binary and proto module, for `buf curl --schema`. */
export const bufBinary = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));
export const protoDir = fileURLToPath(new URL("../../../proto", import.meta.url));

/** An HTTP response as curl saw it. */
export interface CurlResponse {
	status: number;
	httpVersion: string;
	headers: Map<string, string>;
	body: string;
	json(): Record<string, unknown>;
}

/** Runs curl over HTTP/1.1 and parses the status line, headers and body. */
export async function curl(url: string, args: string[] = []): Promise<CurlResponse> {
	const result = await runToExit("curl", ["-s", "-i", "--http1.1", ...args, url]);
	if (result.code !== 0) throw new Error(`curl exited ${result.code}: ${result.stderr}`);
	const split = result.stdout.indexOf("\r\n\r\n");
	const head = result.stdout.slice(0, split).split("\r\n");
	const body = result.stdout.slice(split + 4);
	const [httpVersion, status] = (head[0] ?? "").split(" ");
	const headers = new Map<string, string>();
	for (const line of head.slice(1)) {
		const colon = line.indexOf(":");
		headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
	}
	return {
		status: Number(status),
		httpVersion: (httpVersion ?? "").replace("HTTP/", ""),
		headers,
		body,
		json: () => JSON.parse(body) as Record<string, unknown>,
	};
}

/** curl arguments for a Connect JSON POST with a key. */
export function connectJson(key: string | undefined, body: unknown): string[] {
	const args = ["-X", "POST", "-H", "content-type: application/json", "--data-binary", JSON.stringify(body)];
	if (key !== undefined) args.push("-H", `authorization: Bearer ${key}`);
	return args;
}

/** The three protocols of buf curl. */
export type BufProtocol = "connect" | "grpcweb" | "grpc";

/** `buf curl` with the repository's protos as schema. */
export function bufCurl(protocol: BufProtocol, url: string, key: string, body: unknown) {
	return runToExit(bufBinary, [
		"curl",
		"--schema",
		protoDir,
		"--protocol",
		protocol,
		...(protocol === "grpc" ? ["--http2-prior-knowledge"] : []),
		"-H",
		`Authorization: Bearer ${key}`,
		"-d",
		JSON.stringify(body),
		url,
	]);
}

/** Which transport a typed test client speaks to the gateway. */
export type ClientProtocol = "grpc" | "grpc-web" | "connect-json" | "connect-binary";

/** A typed client of the gateway that sends a key with every call. */
export function gatewayClient<S extends DescService>(
	service: S,
	baseUrl: string,
	key: string,
	protocol: ClientProtocol = "grpc",
): Client<S> {
	const bearer: Interceptor = (next) => (request) => {
		request.header.set("authorization", `Bearer ${key}`);
		return next(request);
	};
	const options = { baseUrl, interceptors: [bearer] };
	const transport =
		protocol === "grpc"
			? createGrpcTransport(options)
			: protocol === "grpc-web"
				? createGrpcWebTransport({ ...options, httpVersion: "1.1" })
				: createConnectTransport({
						...options,
						httpVersion: "1.1",
						useBinaryFormat: protocol === "connect-binary",
					});
	return createClient(service, transport);
}
