export * from "./ordered-stream-client.js";
export * from "./refusal-error.js";
