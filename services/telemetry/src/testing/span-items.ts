import type { SpanItem } from "../core/model.js";

/** A core span item for unit tests; fields not given take plain defaults. */
export function spanItem(overrides: Partial<SpanItem> = {}): SpanItem {
	return {
		signal: "traces",
		resource: { attributes: { "service.name": "api" } },
		scope: { name: "s", version: "" },
		traceId: "0af7651916cd43dd8448eb211c80319c",
		spanId: "b7ad6b7169203331",
		parentSpanId: "",
		name: "op",
		kind: 1,
		startTimeUnixNano: 1n,
		endTimeUnixNano: 2n,
		attributes: {},
		events: [],
		links: [],
		statusCode: 0,
		statusMessage: "",
		...overrides,
	};
}
