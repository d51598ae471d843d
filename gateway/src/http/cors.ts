import type { IncomingHttpHeaders } from "node:http";
import { cors } from "@connectrpc/connect";

/** Allowed origins: every origin, or a list. */
export type CorsOrigins = "*" | readonly string[];

const allowHeaders = [...cors.allowedHeaders, "Authorization", "Traceparent", "Tracestate"].join(", ");
const exposeHeaders = [...cors.exposedHeaders, "Retry-After"].join(", ");
const allowMethods = cors.allowedMethods.join(", ");

/**
 * The CORS headers for a request: none when it carries no Origin or the origin
 * is not allowed (the browser then blocks the response); for a preflight, the
 * methods and headers Connect, gRPC-Web and our Authorization need.
 */
export function corsHeaders(
	request: { method?: string | undefined; headers: IncomingHttpHeaders },
	origins: CorsOrigins | undefined,
): Record<string, string> | undefined {
	const origin = request.headers.origin;
	if (origin === undefined || origins === undefined) return undefined;
	if (origins !== "*" && !origins.includes(origin)) return undefined;
	const headers: Record<string, string> = {
		// The origin is echoed rather than "*" so caches keep answers per origin.
		"access-control-allow-origin": origin,
		vary: "Origin",
		"access-control-expose-headers": exposeHeaders,
	};
	if (request.method === "OPTIONS") {
		headers["access-control-allow-methods"] = allowMethods;
		headers["access-control-allow-headers"] = allowHeaders;
		headers["access-control-max-age"] = "7200";
	}
	return headers;
}
