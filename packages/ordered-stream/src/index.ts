export * from "./ordered-stream-client.js";
