/** Chunking and reassembly of log message bodies, shared by the SDK and the log-ingest service. */
export * from "./chunk-error.js";
export * from "./chunker.js";
export * from "./codec.js";
export * from "./frame-encoding.js";
export * from "./limits.js";
export * from "./placement.js";
export * from "./plain-chunk.js";
export * from "./reassembler.js";
