import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import {
	type OpenOrderedStream,
	OrderedStreamClient as PlainOrderedStreamClient,
} from "../../../../packages/ordered-stream/src/index.js";

export {
	connectErrorOfStatus,
	type OpenOrderedStream,
} from "../../../../packages/ordered-stream/src/index.js";

/**
 * packages/ordered-stream's client as services use it: each stream is opened
 * outside any caller's trace, since it outlives the call that opened it.
 */
export class OrderedStreamClient<I, O> extends PlainOrderedStreamClient<I, O> {
	constructor(open: OpenOrderedStream<I, O>) {
		super(open, { startStream: (start) => context.with(ROOT_CONTEXT, start) });
	}
}
