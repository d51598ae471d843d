import type {
	DescMessage,
	DescMethodBiDiStreaming,
	DescMethodClientStreaming,
	DescMethodServerStreaming,
	DescMethodUnary,
	DescService,
	MessageInitShape,
	MessageShape,
} from "@bufbuild/protobuf";
import type { Metadata } from "@grpc/grpc-js";
import type { Logger } from "pino";

/** What a handler knows about the call it serves. */
export interface CallContext {
	/** Fully qualified method, for example "taskmesh.queue.v1.QueueService/Enqueue". */
	readonly method: string;
	/** Aborted when the client cancels, the deadline passes or the server is stopped. */
	readonly signal: AbortSignal;
	/** The caller's deadline, if it set one; pass it on to downstream calls. */
	readonly deadline: Date | undefined;
	/** Request metadata as received. */
	readonly metadata: Metadata;
	/** The peer address. */
	readonly peer: string;
	/** A logger carrying the method and trace id. */
	readonly logger: Logger;
	/**
	 * Aborted when the server begins to drain. A long-lived stream that can end at
	 * a clean point (between requests) should, so its client reconnects to a
	 * server that stays instead of being cut at the drain timeout.
	 */
	readonly draining: AbortSignal;
}

type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
	request: MessageShape<I>,
	context: CallContext,
) => Promise<MessageInitShape<O>>;

type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
	request: MessageShape<I>,
	context: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
	requests: AsyncIterable<MessageShape<I>>,
	context: CallContext,
) => Promise<MessageInitShape<O>>;

type BiDiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
	requests: AsyncIterable<MessageShape<I>>,
	context: CallContext,
) => AsyncIterable<MessageInitShape<O>>;

/** The handler type for one method, chosen by its streaming kind. */
export type MethodImplementation<M> =
	M extends DescMethodUnary<infer I, infer O>
		? UnaryImpl<I, O>
		: M extends DescMethodServerStreaming<infer I, infer O>
			? ServerStreamingImpl<I, O>
			: M extends DescMethodClientStreaming<infer I, infer O>
				? ClientStreamingImpl<I, O>
				: M extends DescMethodBiDiStreaming<infer I, infer O>
					? BiDiStreamingImpl<I, O>
					: never;

/**
 * A typed implementation of a protobuf-es service: one function per method,
 * keyed by the method's local name (camelCase). Methods left out are answered
 * UNIMPLEMENTED by gRPC itself.
 */
export type ServiceImplementation<S extends DescService> = {
	[K in keyof S["method"]]?: MethodImplementation<S["method"][K]>;
};

/**
 * Hand-written wire codecs for one method's hottest messages, in place of
 * protobuf-es's reflection. Each must read and write the bytes protobuf-es
 * would (its service tests it against protobuf-es).
 */
export interface MethodCodecs {
	decodeRequest?: (bytes: Uint8Array) => unknown;
	encodeResponse?: (response: unknown) => Uint8Array;
}

/** A service descriptor paired with its implementation, ready to serve. */
export interface ServiceRegistration<S extends DescService = DescService> {
	service: S;
	implementation: ServiceImplementation<S>;
	/** Codecs by method local name; methods left out use protobuf-es. */
	codecs?: Partial<Record<keyof S["method"], MethodCodecs>>;
}

/** Pairs a descriptor with its implementation, checking the types. */
export function registration<S extends DescService>(
	service: S,
	implementation: ServiceImplementation<S>,
	codecs?: Partial<Record<keyof S["method"], MethodCodecs>>,
): ServiceRegistration {
	return {
		service,
		implementation,
		...(codecs === undefined ? {} : { codecs }),
	} as unknown as ServiceRegistration;
}
